using Folio.Cpu;
using Folio.Models;

using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// Block-quantized weights stay quantized in the CPU runner (unless told otherwise), and a step over
/// them allocates nothing. Their arithmetic is checked kernel by kernel in Quantized/QuantGemmTests
/// and against llama.cpp in Oracle/QuantizedLlamaCppOracleTests.
/// </summary>
public sealed class CpuQuantizedWeightsTests
{
    private static readonly ModelConfig Shape = TestModel.Shape(hidden: 96, layers: 2, heads: 6, kvHeads: 2, headDim: 16, ffn: 160, vocab: 101) with { AttentionBias = true };

    [Fact]
    public void The_runner_keeps_q8_0_weights_quantized_unless_told()
    {
        using var model = TestModel.Create(Shape with { TieWordEmbeddings = true }, seed: 22, DType.Q8_0);
        using var kept = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 4, Threads = 1 });
        using var converted = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 4, Threads = 1, KeepQuantized = false });
        Assert.Equal(["Q8_0"], kept.WeightBytesByType().Keys);
        Assert.Equal(["F32"], converted.WeightBytesByType().Keys);

        // q8_0 is 34 bytes per 32 weights, f32 128: the packed sizes say which form the runner holds.
        long weights = (Shape.NumLayers * ((Shape.HiddenSize * (Shape.QDim + (2L * Shape.KvDim))) + (Shape.QDim * Shape.HiddenSize) + (3L * Shape.HiddenSize * Shape.IntermediateSize))) + ((long)Shape.VocabSize * Shape.HiddenSize);
        Assert.InRange(kept.WeightBytes, weights * 34 / 32, weights * 36 / 32);
        Assert.True(converted.WeightBytes >= weights * 4);
    }

    [Fact]
    public void A_decode_step_over_quantized_weights_allocates_nothing()
    {
        // One thread: the allocation count is the calling thread's, so it then covers every kernel.
        using var model = TestModel.Create(Shape with { TieWordEmbeddings = true }, seed: 24, DType.Q8_0);
        using var runner = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 40, BlockSize = 16, Threads = 1 });
        Assert.Equal(0, DecodeAllocation.BytesAllocatedBySteadyDecodeSteps(runner));
    }
}
