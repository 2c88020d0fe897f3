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
    private LinearWeight(PackedMatrix? f32, QuantMatrix? quant, MappedMatrix? mapped = null)
    {
        F32 = f32;
        Quant = quant;
        Mapped = mapped;
    }

    public PackedMatrix? F32 { get; }
    public QuantMatrix? Quant { get; }

    /// <summary>A weight read from the mapped file panel by panel at each step (a mixture's experts); null when packed at load.</summary>
    public MappedMatrix? Mapped { get; }

    public int N => F32?.N ?? Quant?.N ?? Mapped!.N;
    public int K => F32?.K ?? Quant?.K ?? Mapped!.K;

    /// <summary>Whether the kernels multiply int8-quantized activations (the input rows are quantized first).</summary>
    public bool TakesQuantizedRows => Quant is not null || Mapped?.QuantLayout is not null;

    /// <summary>Whether some part needs activations quantized in blocks of 32 / of 256 (see <see cref="QuantMatrix.NeedsBlocks32"/>).</summary>
    public bool NeedsBlocks32 => Quant?.NeedsBlocks32 ?? Mapped!.NeedsBlocks32;

    public bool NeedsBlocks256 => Quant?.NeedsBlocks256 ?? Mapped!.NeedsBlocks256;

    /// <summary>Units of parallel work: column panels.</summary>
    public int Panels => F32?.Panels ?? Quant?.Panels ?? Mapped!.Panels;

    /// <summary>Bytes a forward pass reads for this weight (for a mapped one, its bytes in the file).</summary>
    public long Bytes => F32 is { } m ? (long)m.Panels * PackedMatrix.PanelWidth * m.K * sizeof(float) : Quant?.Bytes ?? Mapped!.Bytes;

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

    /// <summary>
    /// A weight left in the mapped file and packed a panel at a time as the kernels need it (see
    /// <see cref="MappedMatrix"/>): same arithmetic as <see cref="Create"/> with the same
    /// <paramref name="keepQuantized"/>, no copy of the weight kept. No biases (experts have none).
    /// </summary>
    public static LinearWeight Map(TensorView[] parts, int[] rows, int k, bool keepQuantized, MappedPanelScratch.Registry registry) =>
        new(null, null, new MappedMatrix(parts, rows, k, keepQuantized, registry));

    public void Dispose()
    {
        F32?.Dispose();
        Quant?.Dispose();
    }
}
