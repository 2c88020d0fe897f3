using System.Runtime.InteropServices;

namespace Folio.Cpu.Quantized;

/// <summary>
/// Rows of activations quantized to int8 for one <see cref="QuantGemm"/> call, in one block size:
/// q [rows][K] int8, d [rows][K / Block] f32 scales (value ≈ d * q), sums [rows][K / 16] of q over
/// every 16 consecutive values (the integer terms that a format's offsets and mins multiply), and for
/// 32-value blocks s [rows][K / 32] = the block's sum times its scale, as llama.cpp's q8_1 keeps it.
/// For 256-value blocks also the sums of two consecutive groups packed as an int16 pair (low: the
/// first group's, high: the second's), per row, for groups of 16 ([rows][K / 32]) and of 32 ([rows][K / 64]):
/// the operand the k-quants' mins term multiplies, built once per row instead of once per panel.
/// </summary>
internal readonly unsafe struct ActivationRows(sbyte* q, float* d, int* sums, float* scaledSums, int* pairs16, int* pairs32, int k, int block)
{
    public readonly sbyte* Q = q;
    public readonly float* D = d;
    public readonly int* Sums = sums;
    public readonly float* ScaledSums = scaledSums;
    public readonly int* Pairs16 = pairs16;
    public readonly int* Pairs32 = pairs32;
    public readonly int K = k;
    public readonly int Block = block;

    public sbyte* RowQ(int r) => Q + ((long)r * K);

    public float* RowD(int r) => D + ((long)r * (K / Block));

    public int* RowSums(int r) => Sums + ((long)r * (K / 16));

    public float* RowScaledSums(int r) => ScaledSums + ((long)r * (K / Block));

    /// <summary>Row <paramref name="r"/>'s group-sum pairs for groups of <paramref name="group"/> (16 or 32) values: pair i holds groups 2i and 2i + 1.</summary>
    public int* RowGroupPairs(int r, int group) => group == 16 ? Pairs16 + ((long)r * (K / 32)) : Pairs32 + ((long)r * (K / 64));
}

/// <summary>
/// Scratch for the quantized activations of a GEMM's input rows, in blocks of 32 (for the simple
/// types) and of 256 (for the k-quants): grown to the largest batch and K seen, never shrunk.
/// </summary>
internal sealed unsafe class QuantActivations : IDisposable
{
    private long _rowsCapacity;
    private int _kCapacity;
    private sbyte* _q32;
    private sbyte* _q256;
    private float* _d32;
    private float* _d256;
    private int* _s32;
    private int* _s256;
    private float* _ss32;
    private int* _pairs16;
    private int* _pairs32;

    public void EnsureCapacity(int rows, int k)
    {
        if (rows <= _rowsCapacity && k <= _kCapacity)
        {
            return;
        }

        Free();
        _rowsCapacity = Math.Max(rows, _rowsCapacity);
        _kCapacity = Math.Max(k, _kCapacity);
        long values = _rowsCapacity * _kCapacity;
        _q32 = (sbyte*)Alloc(values);
        _q256 = (sbyte*)Alloc(values);
        _d32 = (float*)Alloc(values / 32 * sizeof(float));
        _d256 = (float*)Alloc(values / 32 * sizeof(float));
        _s32 = (int*)Alloc(values / 16 * sizeof(int));
        _s256 = (int*)Alloc(values / 16 * sizeof(int));
        _ss32 = (float*)Alloc(values / 32 * sizeof(float));
        _pairs16 = (int*)Alloc(values / 32 * sizeof(int));
        _pairs32 = (int*)Alloc(values / 64 * sizeof(int));
    }

    /// <summary>The rows quantized in blocks of <paramref name="block"/> (32 or 256) for inputs of length <paramref name="k"/>.</summary>
    public ActivationRows View(int block, int k) => block == 32
        ? new ActivationRows(_q32, _d32, _s32, _ss32, null, null, k, 32)
        : new ActivationRows(_q256, _d256, _s256, null, _pairs16, _pairs32, k, 256);

    /// <summary>Quantizes row <paramref name="r"/> (x, K values) into the block sizes asked for.</summary>
    public void QuantizeRow(float* x, int r, int k, bool blocks32, bool blocks256)
    {
        if (blocks32)
        {
            var v = View(32, k);
            ActivationQuantizer.Quantize(x, k, 32, v.RowQ(r), v.RowD(r), v.RowSums(r), v.RowScaledSums(r));
        }

        if (blocks256)
        {
            var v = View(256, k);
            ActivationQuantizer.Quantize(x, k, 256, v.RowQ(r), v.RowD(r), v.RowSums(r), null);
            PackGroupPairs(v.RowSums(r), k, v.RowGroupPairs(r, 16), v.RowGroupPairs(r, 32));
        }
    }

    /// <summary>
    /// The int16 pairs of consecutive group sums (see <see cref="ActivationRows"/>) from the per-16
    /// sums. Each sum fits: at most 32 · 127 in magnitude.
    /// </summary>
    internal static void PackGroupPairs(int* sums16, int k, int* pairs16, int* pairs32)
    {
        for (int i = 0; i < k / 32; i++)
        {
            pairs16[i] = Pair(sums16[2 * i], sums16[(2 * i) + 1]);
        }

        for (int i = 0; i < k / 64; i++)
        {
            int* s = sums16 + (4 * i);
            pairs32[i] = Pair(s[0] + s[1], s[2] + s[3]);
        }

        static int Pair(int first, int second) => (first & 0xFFFF) | (second << 16);
    }

    private static void* Alloc(long bytes)
    {
        var p = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 64), 64);
        NativeMemory.Clear(p, (nuint)Math.Max(bytes, 64));
        return p;
    }

    private void Free()
    {
        foreach (var p in (nint[])[(nint)_q32, (nint)_q256, (nint)_d32, (nint)_d256, (nint)_s32, (nint)_s256, (nint)_ss32, (nint)_pairs16, (nint)_pairs32])
        {
            if (p != 0)
            {
                NativeMemory.AlignedFree((void*)p);
            }
        }

        _q32 = _q256 = null;
        _d32 = _d256 = null;
        _s32 = _s256 = null;
        _ss32 = null;
        _pairs16 = _pairs32 = null;
    }

    public void Dispose() => Free();
}
