using Folio.Cpu;
using Folio.Models;

using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// q8_0 weights kept quantized (dequantized a panel at a time at run time) must give bitwise the
/// logits of converting them to f32 at load: the same values reach the same chain of FMAs.
/// </summary>
public sealed class CpuQuantizedWeightsTests
{
    // Widths are whole q8_0 blocks (so every linear weight is stored q8_0); the vocabulary and the
    // fused widths leave partial panels, and the batches put rows in every GEMM tile position.
    private static readonly ModelConfig Shape = TestModel.Shape(hidden: 96, layers: 2, heads: 6, kvHeads: 2, headDim: 16, ffn: 160, vocab: 101) with { AttentionBias = true };

    private static int[] Tokens(int n, int seed, int vocab)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    private static float[][] MixedRun(TestModel model, bool keepQuantized, int threads)
    {
        using var runner = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 40, BlockSize = 16, Threads = threads, KeepQuantized = keepQuantized });
        var d = new BatchDriver(runner);
        var v = model.Config.VocabSize;
        var a = new TestSequence(Tokens(40, 1, v), [0, 1, 2]);
        var b = new TestSequence(Tokens(40, 2, v), [3, 4, 5]);
        var c = new TestSequence(Tokens(40, 3, v), [6, 7, 8]);
        var rows = new List<float[]>();
        void Take(List<float[][]> step)
        {
            foreach (var part in step)
            {
                rows.AddRange(part);
            }
        }

        // Prefill chunks next to each other, then prefill mixed with decode, then pure decode.
        Take(d.Step(new StepPart(a, 21, true), new StepPart(b, 9, true)));
        Take(d.Step(new StepPart(a, 1), new StepPart(b, 5, true), new StepPart(c, 13, true)));
        for (int i = 0; i < 5; i++)
        {
            Take(d.Step(new StepPart(a, 1), new StepPart(b, 1), new StepPart(c, 1)));
        }

        // One and two rows: the GEMM reads the quantized panels directly instead of through scratch.
        Take(d.Step(new StepPart(a, 1)));
        Take(d.Step(new StepPart(b, 1), new StepPart(c, 1)));
        Take(d.Step(new StepPart(a, 1), new StepPart(c, 1)));
        Take(d.Step(new StepPart(b, 1)));

        return [.. rows];
    }

    [Theory]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    [InlineData(true, 3)]
    public void Keeping_q8_0_weights_quantized_gives_bitwise_the_logits_of_converting_at_load(bool tied, int threads)
    {
        using var model = TestModel.Create(Shape with { TieWordEmbeddings = tied }, seed: 21, DType.Q8_0);
        var converted = MixedRun(model, keepQuantized: false, threads: 1);
        var quantized = MixedRun(model, keepQuantized: true, threads);
        Assert.True(converted.Length > 40);
        for (int t = 0; t < converted.Length; t++)
        {
            for (int i = 0; i < converted[t].Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(converted[t][i]) != BitConverter.SingleToInt32Bits(quantized[t][i]))
                {
                    Assert.Fail($"row {t}, logit {i}: converted {converted[t][i]:R} != quantized {quantized[t][i]:R}");
                }
            }
        }
    }

    [Fact]
    public void The_runner_really_keeps_the_weights_quantized_unless_told()
    {
        // Guards the test above against comparing the f32 path with itself.
        using var model = TestModel.Create(Shape with { TieWordEmbeddings = true }, seed: 22, DType.Q8_0);
        var qkv = model.Model.Require("model.layers.0.self_attn.q_proj.weight");
        Assert.Equal(DType.Q8_0, qkv.DType);
        using var kept = PackedMatrix.FromTensors([qkv], [Shape.QDim], Shape.HiddenSize, keepQuantized: true);
        using var converted = PackedMatrix.FromTensors([qkv], [Shape.QDim], Shape.HiddenSize, keepQuantized: false);
        Assert.True(kept.IsQuantized);
        Assert.False(converted.IsQuantized);
    }

    [Fact]
    public unsafe void ADequantizedPanelEqualsTheIndependentlyRoundedWeightsBitForBit()
    {
        // 130 rows: two full panels and a partial one whose padding must dequantize to +0.
        const int n = 130, k = 96;
        using var model = TestModel.Create(TestModel.Shape(hidden: k, layers: 1, heads: 2, kvHeads: 1, headDim: 48, ffn: n, vocab: 64), seed: 23, DType.Q8_0);
        const string name = "model.layers.0.mlp.gate_proj.weight";
        var expected = model.Values[name]; // the test encoder's own decoded values, [n, k] row-major
        using var m = PackedMatrix.FromTensors([model.Model.Require(name)], [n], k, keepQuantized: true);
        Assert.True(m.IsQuantized);
        var panel = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(k * PackedMatrix.PanelWidth * sizeof(float)), 64);
        try
        {
            for (int p = 0; p < m.Panels; p++)
            {
                m.DequantizePanel(p, panel);
                for (int j = 0; j < PackedMatrix.PanelWidth; j++)
                {
                    int row = (p * PackedMatrix.PanelWidth) + j;
                    for (int i = 0; i < k; i++)
                    {
                        float want = row < n ? expected[(row * k) + i] : 0f;
                        float got = panel[(i * PackedMatrix.PanelWidth) + j];
                        Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(got), $"W[{row}, {i}]: {want:R} != {got:R}");
                        if (row < n)
                        {
                            Assert.Equal(BitConverter.SingleToInt32Bits(want), BitConverter.SingleToInt32Bits(m[row, i]));
                        }
                    }
                }
            }
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(panel);
        }
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
