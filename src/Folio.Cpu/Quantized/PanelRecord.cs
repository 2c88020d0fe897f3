using System.Runtime.CompilerServices;

namespace Folio.Cpu.Quantized;

/// <summary>
/// Scalar access to one record of a <see cref="PanelFormat"/> (the layout its summary describes):
/// the packer writes codes and scales with it, and the scalar kernel reads them back.
/// </summary>
internal static unsafe class PanelRecord
{
    /// <summary>Where value k of panel row <paramref name="row"/> sits inside its 32-byte unit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ByteInUnit(int k, int row) => ((row & 7) * 4) + (k & 3);

    /// <summary>ORs the code of value <paramref name="k"/> (0..SuperBlock-1) of panel row <paramref name="row"/> into a zeroed record.</summary>
    public static void SetCode(PanelFormat f, byte* rec, int k, int row, int code)
    {
        int g = k >> 2, u = row >> 3, b = ByteInUnit(k, row);
        int low = code & ((1 << f.LowBits) - 1);
        int high = code >> f.LowBits;
        switch (f.LowBits)
        {
            case 8:
                rec[(g * 64) + (u * 32) + b] = (byte)code;
                break;
            case 4:
                rec[(g * 32) + b] |= (byte)(low << (4 * u));
                break;
            default:
                rec[((g >> 1) * 32) + b] |= (byte)(low << (2 * (((g & 1) * 2) + u)));
                break;
        }

        byte* planeB = rec + f.PlaneBOffset;
        switch (f.HighBits)
        {
            case 1:
                planeB[((g >> 2) * 32) + b] |= (byte)(high << (((g & 3) * 2) + u));
                break;
            case 2:
                planeB[((g >> 1) * 32) + b] |= (byte)(high << (2 * (((g & 1) * 2) + u)));
                break;
        }
    }

    /// <summary>The stored code of value <paramref name="k"/> of panel row <paramref name="row"/> (signed for <see cref="CodeKind.Signed8"/>).</summary>
    public static int GetCode(PanelFormat f, byte* rec, int k, int row)
    {
        int g = k >> 2, u = row >> 3, b = ByteInUnit(k, row);
        int code = f.LowBits switch
        {
            8 => (sbyte)rec[(g * 64) + (u * 32) + b],
            4 => (rec[(g * 32) + b] >> (4 * u)) & 0xF,
            _ => (rec[((g >> 1) * 32) + b] >> (2 * (((g & 1) * 2) + u))) & 3,
        };
        byte* planeB = rec + f.PlaneBOffset;
        return f.HighBits switch
        {
            1 => code | (((planeB[((g >> 2) * 32) + b] >> (((g & 3) * 2) + u)) & 1) << f.LowBits),
            2 => code | (((planeB[((g >> 1) * 32) + b] >> (2 * (((g & 1) * 2) + u))) & 3) << f.LowBits),
            _ => code,
        };
    }

    /// <summary>Raw f16 bits of the record's scale d for panel row <paramref name="row"/>.</summary>
    public static ushort* D(PanelFormat f, byte* rec) => (ushort*)(rec + f.ScalesOffset);

    /// <summary>Raw f16 bits of m (block kinds) or dmin (group kinds), per panel row.</summary>
    public static ushort* M(PanelFormat f, byte* rec) => (ushort*)(rec + f.ScalesOffset + (2 * PanelFormat.Rows));

    /// <summary>Per group, a byte per panel row: the group scale (signed for <see cref="ScaleKind.Groups"/>; scale | min &lt;&lt; 4 when packed).</summary>
    public static byte* GroupScales(PanelFormat f, byte* rec) => rec + f.GroupScalesOffset;

    /// <summary>Per group, a byte per panel row: the unsigned group min (<see cref="ScaleKind.GroupsMin"/> only).</summary>
    public static byte* GroupMins(PanelFormat f, byte* rec) => rec + f.GroupMinsOffset;
}
