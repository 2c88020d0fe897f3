using System.Runtime.InteropServices;
using Folio.Models;

namespace Folio.Cpu;

/// <summary>
/// A linear layer's weight W[N, K] (PyTorch's [out_features, in_features]) converted to f32 and
/// repacked into column panels of <see cref="PanelWidth"/> outputs: panel p holds, for every k in
/// order, the 64 weights W[p*64 + j, k] (j = 0..63) contiguously, so that the GEMM micro-kernel
/// streams one panel front to back and broadcasts x[r, k] against it. N is padded with zero rows to
/// a whole panel. The optional bias is padded the same way. (Block-quantized weights that stay
/// quantized live in <see cref="Quantized.QuantMatrix"/> instead.)
/// </summary>
public sealed unsafe class PackedMatrix : IDisposable
{
    /// <summary>Output columns per panel: four 512-bit vectors of f32.</summary>
    public const int PanelWidth = 64;

    private PackedMatrix(int n, int k, bool hasBias)
    {
        N = n;
        K = k;
        Panels = (n + PanelWidth - 1) / PanelWidth;
        long elements = (long)Panels * PanelWidth * k;
        Data = (float*)NativeMemory.AlignedAlloc((nuint)(elements * sizeof(float)), 64);

        if (hasBias)
        {
            Bias = (float*)NativeMemory.AlignedAlloc((nuint)(Panels * PanelWidth * sizeof(float)), 64);
            NativeMemory.Clear(Bias, (nuint)(Panels * PanelWidth * sizeof(float)));
        }
    }

    public int N { get; }
    public int K { get; }
    public int Panels { get; }
    /// <summary>[Panels][K][64] f32 weights.</summary>
    public float* Data { get; private set; }

    /// <summary>[Panels * 64] bias, zero-padded; null when the layer has none.</summary>
    public float* Bias { get; private set; }

    /// <summary>Weight W[n, k] (for tests and gathers).</summary>
    public float this[int n, int k] => Data[((long)(n / PanelWidth) * K * PanelWidth) + ((long)k * PanelWidth) + (n % PanelWidth)];

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
    public static PackedMatrix FromTensors(IReadOnlyList<TensorView> parts, IReadOnlyList<int> rows, int k, IReadOnlyList<TensorView?>? biases = null)
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

        var m = new PackedMatrix(n, k, biases is not null && biases.Any(b => b is not null));

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

        if (Bias != null)
        {
            NativeMemory.AlignedFree(Bias);
            Bias = null;
        }
    }
}
