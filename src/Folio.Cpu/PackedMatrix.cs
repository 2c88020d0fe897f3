using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Folio.Models;

namespace Folio.Cpu;

/// <summary>
/// A linear layer's weight W[N, K] (PyTorch's [out_features, in_features]) converted to f32 and
/// repacked into column panels of <see cref="PanelWidth"/> outputs: panel p holds, for every k in
/// order, the 64 weights W[p*64 + j, k] (j = 0..63) contiguously, so that the GEMM micro-kernel
/// streams one panel front to back and broadcasts x[r, k] against it. N is padded with zero rows to
/// a whole panel. The optional bias is padded the same way.
///
/// A q8_0 weight may instead stay quantized (<see cref="IsQuantized"/>): per panel, the int8 values
/// [K][64] in the same order as the f32 panel and the block scales [K/32][64] widened to f32 (a
/// q8_0 block runs along K for one output row). <see cref="DequantizePanel"/> rebuilds the f32
/// panel, bit for bit what converting at load gives (scale * q is exact in f32: an f16 significand
/// times an 8-bit integer needs at most 19 bits), so the GEMM over it computes the same chain.
/// </summary>
public sealed unsafe class PackedMatrix : IDisposable
{
    /// <summary>Output columns per panel: four 512-bit vectors of f32.</summary>
    public const int PanelWidth = 64;

    private PackedMatrix(int n, int k, bool hasBias, bool quantized = false)
    {
        N = n;
        K = k;
        Panels = (n + PanelWidth - 1) / PanelWidth;
        long elements = (long)Panels * PanelWidth * k;
        if (quantized)
        {
            Quants = (sbyte*)NativeMemory.AlignedAlloc((nuint)elements, 64);
            long scales = elements / DTypeConversion.Q8BlockSize;
            Scales = (float*)NativeMemory.AlignedAlloc((nuint)(scales * sizeof(float)), 64);
        }
        else
        {
            Data = (float*)NativeMemory.AlignedAlloc((nuint)(elements * sizeof(float)), 64);
        }

        if (hasBias)
        {
            Bias = (float*)NativeMemory.AlignedAlloc((nuint)(Panels * PanelWidth * sizeof(float)), 64);
            NativeMemory.Clear(Bias, (nuint)(Panels * PanelWidth * sizeof(float)));
        }
    }

    public int N { get; }
    public int K { get; }
    public int Panels { get; }
    /// <summary>[Panels][K][64] f32 weights; null when the matrix is kept quantized.</summary>
    public float* Data { get; private set; }

    /// <summary>[Panels][K][64] q8_0 values; null unless <see cref="IsQuantized"/>.</summary>
    public sbyte* Quants { get; private set; }

    /// <summary>[Panels][K/32][64] q8_0 block scales as f32; null unless <see cref="IsQuantized"/>.</summary>
    public float* Scales { get; private set; }

    /// <summary>True when the weights are held as q8_0 and each panel must be dequantized before the GEMM reads it.</summary>
    public bool IsQuantized => Quants != null;

    /// <summary>[Panels * 64] bias, zero-padded; null when the layer has none.</summary>
    public float* Bias { get; private set; }

    /// <summary>Weight W[n, k] (for gathers such as an embedding lookup from a tied lm_head).</summary>
    public float this[int n, int k]
    {
        get
        {
            long panel = n / PanelWidth;
            int j = n % PanelWidth;
            if (Quants == null)
            {
                return Data[(panel * K * PanelWidth) + ((long)k * PanelWidth) + j];
            }

            // The same product as DTypeConversion's q8_0 decoding: f32 scale times the widened int8.
            float scale = Scales[(panel * (K / DTypeConversion.Q8BlockSize) * PanelWidth) + ((long)(k / DTypeConversion.Q8BlockSize) * PanelWidth) + j];
            return scale * Quants[(panel * K * PanelWidth) + ((long)k * PanelWidth) + j];
        }
    }

    /// <summary>
    /// Writes panel <paramref name="p"/> as f32 [K][64] into <paramref name="destination"/> (64-byte
    /// aligned, K * 64 floats). Each value is scale * q rounded once, exactly as the scalar decoder.
    /// </summary>
    public void DequantizePanel(int p, float* destination)
    {
        const int W = PanelWidth;
        int blocks = K / DTypeConversion.Q8BlockSize;
        sbyte* q = Quants + ((long)p * K * W);
        float* scales = Scales + ((long)p * blocks * W);
        float* dst = destination;
        for (int b = 0; b < blocks; b++, scales += W)
        {
            if (Avx512F.IsSupported)
            {
                var s0 = Vector512.Load(scales);
                var s1 = Vector512.Load(scales + 16);
                var s2 = Vector512.Load(scales + 32);
                var s3 = Vector512.Load(scales + 48);
                for (int i = 0; i < DTypeConversion.Q8BlockSize; i++, q += W, dst += W)
                {
                    (Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q))) * s0).Store(dst);
                    (Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 16))) * s1).Store(dst + 16);
                    (Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 32))) * s2).Store(dst + 32);
                    (Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 48))) * s3).Store(dst + 48);
                }
            }
            else if (Avx2.IsSupported)
            {
                for (int i = 0; i < DTypeConversion.Q8BlockSize; i++, q += W, dst += W)
                {
                    for (int j = 0; j < W; j += 8)
                    {
                        (Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + j)) * Vector256.Load(scales + j)).Store(dst + j);
                    }
                }
            }
            else
            {
                for (int i = 0; i < DTypeConversion.Q8BlockSize; i++, q += W, dst += W)
                {
                    for (int j = 0; j < W; j++)
                    {
                        dst[j] = scales[j] * q[j];
                    }
                }
            }
        }
    }

    /// <summary>Packs W[N, K] given row-major in <paramref name="w"/> (tests and kernels' public API).</summary>
    public static PackedMatrix FromRows(ReadOnlySpan<float> w, int n, int k, ReadOnlySpan<float> bias = default)
    {
        if (w.Length < (long)n * k)
        {
            throw new ArgumentException($"weight has {w.Length} values, {(long)n * k} needed for [{n}, {k}]");
        }

        var m = new PackedMatrix(n, k, !bias.IsEmpty);
        var row = new float[k];
        for (int r = 0; r < m.Panels * PanelWidth; r++)
        {
            if (r < n)
            {
                w.Slice(r * k, k).CopyTo(row);
            }
            else
            {
                Array.Clear(row);
            }

            m.SetRow(r, row);
        }

        if (!bias.IsEmpty)
        {
            bias[..n].CopyTo(new Span<float>(m.Bias, n));
        }

        return m;
    }

    /// <summary>
    /// Packs the row-wise concatenation of <paramref name="parts"/> (each [rows_i, K], any dtype) as
    /// one matrix, e.g. q/k/v projections fused into one GEMM. Shapes are checked against
    /// <paramref name="rows"/> and <paramref name="k"/>; a mismatch names the file and tensor.
    /// </summary>
    /// <remarks>
    /// With <paramref name="keepQuantized"/>, a matrix whose parts are all q8_0 (and K a whole number of
    /// blocks) is packed quantized; any other stays f32, so the flag is a preference, never an error.
    /// </remarks>
    public static PackedMatrix FromTensors(IReadOnlyList<TensorView> parts, IReadOnlyList<int> rows, int k, IReadOnlyList<TensorView?>? biases = null, bool keepQuantized = false)
    {
        int n = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            RequireShape(parts[i], [rows[i], k]);
            if (biases?[i] is { } b)
            {
                RequireShape(b, [rows[i]]);
            }

            n += rows[i];
        }

        bool quantized = keepQuantized && k % DTypeConversion.Q8BlockSize == 0 && parts.All(t => t.DType == DType.Q8_0);
        var m = new PackedMatrix(n, k, biases is not null && biases.Any(b => b is not null), quantized);
        if (quantized)
        {
            m.FillQuantized(parts, rows, biases);
            return m;
        }

        var row = new float[k];
        int r = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            for (int j = 0; j < rows[i]; j++, r++)
            {
                DTypeConversion.ToF32(parts[i], (long)j * k, row);
                m.SetRow(r, row);
            }

            if (biases?[i] is { } b)
            {
                DTypeConversion.ToF32(b, 0, new Span<float>(m.Bias + (r - rows[i]), rows[i]));
            }
        }

        Array.Clear(row);
        for (; r < m.Panels * PanelWidth; r++)
        {
            m.SetRow(r, row);
        }

        return m;
    }

    /// <summary>Throws a <see cref="ModelFormatException"/> naming file, tensor and expected shape.</summary>
    public static void RequireShape(TensorView t, long[] expected)
    {
        if (!t.Shape.AsSpan().SequenceEqual(expected))
        {
            throw new ModelFormatException($"{t.File}: tensor '{t.Name}' has shape {t.ShapeText}, expected [{string.Join(", ", expected)}]");
        }
    }

    /// <summary>Copies q8_0 rows into the quantized panels (values and widened scales), zero-padding N; also fills the bias.</summary>
    private void FillQuantized(IReadOnlyList<TensorView> parts, IReadOnlyList<int> rows, IReadOnlyList<TensorView?>? biases)
    {
        const int W = PanelWidth;
        const int B = DTypeConversion.Q8BlockSize;
        int blocks = K / B;
        long elements = (long)Panels * W * K;
        NativeMemory.Clear(Quants, (nuint)elements);
        NativeMemory.Clear(Scales, (nuint)(elements / B * sizeof(float)));
        int r = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var t = parts[i];
            for (int j = 0; j < rows[i]; j++, r++)
            {
                long panel = r / W;
                int col = r % W;
                sbyte* q = Quants + (panel * K * W) + col;
                float* scales = Scales + (panel * blocks * W) + col;
                byte* src = t.Data + ((long)j * blocks * DTypeConversion.Q8BlockBytes);
                for (int b = 0; b < blocks; b++, src += DTypeConversion.Q8BlockBytes)
                {
                    scales[(long)b * W] = (float)BitConverter.UInt16BitsToHalf(*(ushort*)src);
                    for (int e = 0; e < B; e++)
                    {
                        q[((long)((b * B) + e)) * W] = unchecked((sbyte)src[2 + e]);
                    }
                }
            }

            if (biases?[i] is { } bias)
            {
                DTypeConversion.ToF32(bias, 0, new Span<float>(Bias + (r - rows[i]), rows[i]));
            }
        }
    }

    private void SetRow(int r, ReadOnlySpan<float> row)
    {
        float* panel = Data + ((long)(r / PanelWidth) * K * PanelWidth) + (r % PanelWidth);
        for (int k = 0; k < K; k++)
        {
            panel[(long)k * PanelWidth] = row[k];
        }
    }

    public void Dispose()
    {
        if (Data != null)
        {
            NativeMemory.AlignedFree(Data);
            Data = null;
        }

        if (Quants != null)
        {
            NativeMemory.AlignedFree(Quants);
            Quants = null;
        }

        if (Scales != null)
        {
            NativeMemory.AlignedFree(Scales);
            Scales = null;
        }

        if (Bias != null)
        {
            NativeMemory.AlignedFree(Bias);
            Bias = null;
        }
    }
}
