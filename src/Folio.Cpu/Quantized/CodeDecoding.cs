using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Folio.Cpu.Quantized;

/// <summary>A code layout as a type, so that each kernel is compiled for one layout (the JIT folds <see cref="Kind"/>).</summary>
internal interface ICodes
{
    static abstract CodeKind Kind { get; }
}

internal struct Signed8Codes : ICodes
{
    public static CodeKind Kind => CodeKind.Signed8;
}

internal struct NibbleCodes : ICodes
{
    public static CodeKind Kind => CodeKind.Nibble;
}

internal struct NibbleTableCodes : ICodes
{
    public static CodeKind Kind => CodeKind.NibbleTable;
}

internal struct Nibble1Codes : ICodes
{
    public static CodeKind Kind => CodeKind.Nibble1;
}

internal struct Nibble2Codes : ICodes
{
    public static CodeKind Kind => CodeKind.Nibble2;
}

internal struct CrumbCodes : ICodes
{
    public static CodeKind Kind => CodeKind.Crumb;
}

internal struct Crumb1Codes : ICodes
{
    public static CodeKind Kind => CodeKind.Crumb1;
}

/// <summary>
/// 256-bit decoding of one unit of codes (4 consecutive k of 8 panel rows, see <see cref="PanelFormat"/>):
/// unsigned codes come out as bytes 0..63, signed ones (q8_0 values, iq4 levels) as signed bytes.
/// Callers pass <c>t</c> (group within its quad) and <c>u</c> (unit) as constants, so after inlining
/// every shift below is an immediate.
/// </summary>
internal static unsafe class CodeDecoding
{
    private static readonly Vector256<sbyte> Iq4Levels = Vector256.Create(
        (sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

    /// <summary>The bytes of one quad (16 consecutive k, 4 groups) in a record's plane A: quad q starts q times this into the record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int QuadABytes<TCodes>()
        where TCodes : struct, ICodes => TCodes.Kind switch
        {
            CodeKind.Signed8 => 256,
            CodeKind.Crumb or CodeKind.Crumb1 => 64,
            _ => 128,
        };

    /// <summary>The bytes of one quad in a record's plane B (one bit: 32 bytes a quad; two bits: 64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int QuadBBytes<TCodes>()
        where TCodes : struct, ICodes => TCodes.Kind == CodeKind.Nibble2 ? 64 : 32;

    /// <param name="quadA">the quad's start in plane A (<see cref="QuadABytes"/>).</param>
    /// <param name="quadB">the quad's start in plane B (<see cref="QuadBBytes"/>).</param>
    /// <param name="t">group within the quad, 0..3.</param>
    /// <param name="u">unit, 0 (panel rows 0-7) or 1 (rows 8-15).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Unit<TCodes>(byte* quadA, byte* quadB, int t, int u)
        where TCodes : struct, ICodes
    {
        if (TCodes.Kind == CodeKind.Signed8)
        {
            return Vector256.Load(quadA + (t * 64) + (u * 32));
        }

        if (TCodes.Kind is CodeKind.Crumb or CodeKind.Crumb1)
        {
            // Two-bit plane: 32 bytes per two groups, unit v = 2 (g % 2) + u in bits 2v, 2v + 1.
            var c = Vector256.Load(quadA + ((t >> 1) * 32)).AsUInt16();
            var low = MoveLeft(c, -2 * ((2 * (t & 1)) + u)).AsByte() & Vector256.Create((byte)0x03);
            if (TCodes.Kind == CodeKind.Crumb)
            {
                return low;
            }

            // One-bit plane: 32 bytes per four groups, unit bit 2t + u, moved to bit 2.
            var h = Vector256.Load(quadB).AsUInt16();
            return low | (MoveLeft(h, 2 - ((2 * t) + u)).AsByte() & Vector256.Create((byte)0x04));
        }

        var n = Vector256.Load(quadA + (t * 32)).AsUInt16();
        var nibble = (u == 0 ? n : Vector256.ShiftRightLogical(n, 4)).AsByte() & Vector256.Create((byte)0x0F);
        if (TCodes.Kind == CodeKind.NibbleTable)
        {
            return Avx2.Shuffle(Iq4Levels, nibble.AsSByte()).AsByte();
        }

        if (TCodes.Kind == CodeKind.Nibble1)
        {
            // One-bit plane: unit bit 2t + u, moved to bit 4.
            var h = Vector256.Load(quadB).AsUInt16();
            return nibble | (MoveLeft(h, 4 - ((2 * t) + u)).AsByte() & Vector256.Create((byte)0x10));
        }

        if (TCodes.Kind == CodeKind.Nibble2)
        {
            // Two-bit plane: 32 bytes per two groups, unit v = 2 (t % 2) + u in bits 2v, 2v + 1, moved to bits 4-5.
            var h = Vector256.Load(quadB + ((t >> 1) * 32)).AsUInt16();
            return nibble | (MoveLeft(h, 4 - (2 * ((2 * (t & 1)) + u))).AsByte() & Vector256.Create((byte)0x30));
        }

        return nibble;
    }

    /// <summary>
    /// Each 16-bit lane shifted left by <paramref name="left"/> bits (right when negative). Callers
    /// pass the count as an expression of their constant arguments, never through a local: the JIT
    /// sees a count held in a local as a variable and emits the shift with a count register (a load
    /// and a register copy per shift), while a count built from constant arguments folds into the
    /// instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ushort> MoveLeft(Vector256<ushort> h, int left) =>
        left > 0 ? Vector256.ShiftLeft(h, left) : left < 0 ? Vector256.ShiftRightLogical(h, -left) : h;

    /// <summary>8 f16 values to f32, exactly (finite inputs): the magnitude bits shifted into place times 2^112, then the sign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Halves(ushort* h)
    {
        var t = Avx2.ConvertToVector256Int32((short*)h);
        var magnitude = Vector256.ShiftLeft(t, 13) & Vector256.Create(0x0FFFE000);
        var f = magnitude.AsSingle() * Vector256.Create(5.192296858534828e33f); // 2^112
        return (f.AsInt32() | (t & Vector256.Create(int.MinValue))).AsSingle();
    }
}
