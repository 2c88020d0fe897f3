using Folio.Cpu.Quantized;
using Folio.Models;

namespace Folio.Cpu;

/// <summary>
/// One linear layer's weight as the CPU backend holds it: f32 panels for the FMA kernels
/// (<see cref="GemmKernels"/>), or GGML blocks repacked for the int8 kernels (<see cref="QuantGemm"/>).
/// Which one depends only on the weights' types and <see cref="CpuRunnerOptions.KeepQuantized"/>,
/// never on the batch, so every row of every step goes through the same arithmetic.
/// </summary>
internal sealed unsafe class LinearWeight : IDisposable
{
    private LinearWeight(PackedMatrix? f32, QuantMatrix? quant)
    {
        F32 = f32;
        Quant = quant;
    }

    public PackedMatrix? F32 { get; }
    public QuantMatrix? Quant { get; }

    public int N => F32?.N ?? Quant!.N;
    public int K => F32?.K ?? Quant!.K;

    /// <summary>Units of parallel work: column panels.</summary>
    public int Panels => F32?.Panels ?? Quant!.Panels;

    /// <summary>Bytes a forward pass reads for this weight.</summary>
    public long Bytes => F32 is { } m ? (long)m.Panels * PackedMatrix.PanelWidth * m.K * sizeof(float) : Quant!.Bytes;

    /// <summary>
    /// The row-wise concatenation of <paramref name="parts"/> (e.g. q, k and v fused). Kept quantized
    /// when <paramref name="keepQuantized"/> and every part is block-quantized with blocks tiling K;
    /// otherwise converted to f32 (exactly, by <see cref="DTypeConversion"/>).
    /// </summary>
    public static LinearWeight Create(IReadOnlyList<TensorView> parts, IReadOnlyList<int> rows, int k, IReadOnlyList<TensorView?>? biases, bool keepQuantized)
    {
        for (int i = 0; i < parts.Count; i++)
        {
            PackedMatrix.RequireShape(parts[i], [rows[i], k]);
            if (biases?[i] is { } b)
            {
                PackedMatrix.RequireShape(b, [rows[i]]);
            }
        }

        return keepQuantized && QuantMatrix.CanHold(parts, k)
            ? new LinearWeight(null, QuantMatrix.FromTensors(parts, rows, k, biases))
            : new LinearWeight(PackedMatrix.FromTensors(parts, rows, k, biases), null);
    }

    public void Dispose()
    {
        F32?.Dispose();
        Quant?.Dispose();
    }
}
