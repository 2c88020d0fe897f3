using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Folio.Cpu.Quantized;

/// <summary>
/// acc[i] += Σ_{j&lt;4} w[4i + j] · x[4i + j] over 8 int32 lanes, codes w against int8 activations x.
/// Integer sums are exact whatever computes them, so every implementation gives the same lanes.
/// </summary>
internal interface IDot
{
    /// <summary>w holds unsigned codes 0..63 (any byte where <see cref="WidensToInt32"/>).</summary>
    static abstract Vector256<int> Unsigned(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x);

    /// <summary>
    /// The per-weight half of a signed dot, computed once per unit of codes and shared by every
    /// activation row of a tile.
    /// </summary>
    static abstract Vector256<byte> PrepareSigned(Vector256<sbyte> w);

    /// <summary>
    /// w holds signed codes, <paramref name="prepared"/> is <see cref="PrepareSigned"/>(w); the lanes
    /// receive Σ (w + <see cref="SignedOffset"/>) · x, and the caller subtracts SignedOffset · Σ x.
    /// </summary>
    static abstract Vector256<int> Signed(Vector256<int> acc, Vector256<byte> prepared, Vector256<sbyte> w, Vector256<sbyte> x);

    static abstract int SignedOffset { get; }

    /// <summary>acc[i] += a[2i] · b[2i] + a[2i + 1] · b[2i + 1], int16 pairs into int32 lanes (exact for the small values the kernels pass).</summary>
    static abstract Vector256<int> WordPairs(Vector256<int> acc, Vector256<short> a, Vector256<short> b);

    /// <summary>Whether each product goes straight into an int32 lane (no int16 pair that could saturate), so any unsigned byte may be a code.</summary>
    static abstract bool WidensToInt32 { get; }
}

/// <summary>AVX-VNNI's VPDPBUSD (unsigned by signed bytes, four products per int32 lane).</summary>
internal struct VnniDot : IDot
{
    public static int SignedOffset => 128;

    public static bool WidensToInt32 => true;

    /// <summary>VPDPWSSD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> WordPairs(Vector256<int> acc, Vector256<short> a, Vector256<short> b) =>
        AvxVnni.MultiplyWideningAndAdd(acc, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Unsigned(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x) =>
        AvxVnni.MultiplyWideningAndAdd(acc, w, x);

    /// <summary>w + 128 as unsigned bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> PrepareSigned(Vector256<sbyte> w) => w.AsByte() ^ Vector256.Create((byte)0x80);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Signed(Vector256<int> acc, Vector256<byte> prepared, Vector256<sbyte> w, Vector256<sbyte> x) =>
        AvxVnni.MultiplyWideningAndAdd(acc, prepared, x);
}

/// <summary>
/// AVX2 without VNNI: VPMADDUBSW (pairs to int16) then VPMADDWD with ones. Unsigned codes stay below
/// 64 and |x| below 128, so no pair saturates; signed codes use |w| and x carrying w's sign.
/// </summary>
internal struct Avx2Dot : IDot
{
    public static int SignedOffset => 0;

    public static bool WidensToInt32 => false;

    /// <summary>VPMADDWD then an add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> WordPairs(Vector256<int> acc, Vector256<short> a, Vector256<short> b) =>
        acc + Avx2.MultiplyAddAdjacent(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Unsigned(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x) =>
        acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, x), Vector256.Create((short)1));

    /// <summary>|w|; the sign goes onto x per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> PrepareSigned(Vector256<sbyte> w) => Avx2.Abs(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Signed(Vector256<int> acc, Vector256<byte> prepared, Vector256<sbyte> w, Vector256<sbyte> x) =>
        acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(prepared, Avx2.Sign(x, w)), Vector256.Create((short)1));
}
