using Folio.Cpu;
using Folio.Models;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>The CPU runner against the naive float64 reference, on small random models of several shapes.</summary>
public sealed class CpuModelRunnerReferenceTests
{
    public static TheoryData<string> Shapes => new(ShapeNames());

    private static IEnumerable<string> ShapeNames() =>
        ["gqa-hd32-untied", "gqa-hd64-bias-tied-interleaved", "mha-hd80-llama3", "gqa-hd128-bias-llama3-interleaved", "f16-weights", "bf16-weights", "q8_0-weights"];

    private static (ModelConfig Config, DType DType) Shape(string name)
    {
        var s = name switch
        {
            "gqa-hd32-untied" => (TestModel.Shape(hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 32, ffn: 96, vocab: 67), DType.F32),
            "gqa-hd64-bias-tied-interleaved" => (TestModel.Shape(96, 2, 4, 1, 64, 160, 130) with { AttentionBias = true, TieWordEmbeddings = true, RopeStyle = RopeStyle.Interleaved }, DType.F32),
            "mha-hd80-llama3" => (TestModel.Shape(240, 2, 3, 3, 80, 200, 70) with { RopeTheta = 500000f, RopeScaling = new Llama3RopeScaling(8f, 1f, 4f, 16) }, DType.F32),
            "gqa-hd128-bias-llama3-interleaved" => (TestModel.Shape(128, 1, 4, 2, 128, 64, 50) with { AttentionBias = true, RopeStyle = RopeStyle.Interleaved, RopeTheta = 10000f, RopeScaling = new Llama3RopeScaling(4f, 1f, 4f, 24) }, DType.F32),
            "f16-weights" => (TestModel.Shape(64, 2, 2, 1, 32, 64, 40), DType.F16),
            "bf16-weights" => (TestModel.Shape(64, 2, 2, 2, 32, 64, 40) with { TieWordEmbeddings = true }, DType.BF16),
            "q8_0-weights" => (TestModel.Shape(64, 2, 2, 1, 32, 96, 40), DType.Q8_0),
            _ => throw new ArgumentException(name),
        };
        return s;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Logits_match_the_float64_reference_for_every_position_of_batched_sequences(string shape)
    {
        var (config, dtype) = Shape(shape);
        using var model = TestModel.Create(config, seed: shape.Length * 7919, dtype);

        // The float64 reference multiplies exact weights by exact activations: q8_0 weights run here
        // converted to f32. Kept quantized they meet int8 activations, checked against llama.cpp, which
        // does the same (Oracle/QuantizedLlamaCppOracleTests), and kernel by kernel (Quantized/).
        using var runner = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 24, BlockSize = 16, Threads = 2, KeepQuantized = false });
        var rng = new Random(11);
        int[] RandomTokens(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(config.VocabSize)).ToArray();

        // Two sequences in shared steps with mixed chunk sizes; their blocks are scattered in the pool.
        var a = new TestSequence(RandomTokens(37), [5, 0, 9]);
        var b = new TestSequence(RandomTokens(20), [7, 3]);
        var driver = new BatchDriver(runner);
        var gotA = new List<float[]>();
        var gotB = new List<float[]>();
        var step = driver.Step(new StepPart(a, 17, true), new StepPart(b, 20, true));
        gotA.AddRange(step[0]);
        gotB.AddRange(step[1]);
        step = driver.Step(new StepPart(a, 19, true));
        gotA.AddRange(step[0]);
        step = driver.Step(new StepPart(a, 1, true));
        gotA.AddRange(step[0]);

        AssertClose(ReferenceForward.Run(config, model.Values, a.Tokens), gotA, shape + " seq a");
        AssertClose(ReferenceForward.Run(config, model.Values, b.Tokens), gotB, shape + " seq b");
    }

    [Fact]
    public void Interleaved_rope_on_gguf_permuted_weights_equals_rotate_half_on_hugging_face_weights()
    {
        // GGUF stores q/k rows so that pairs (2i, 2i+1) rotate together, where HF pairs (i, i + d/2):
        // HF row i of a head becomes row 2i, HF row d/2 + i becomes 2i + 1. Same model, same logits.
        var hf = TestModel.Shape(64, 2, 4, 2, 32, 96, 50);
        using var a = TestModel.Create(hf, seed: 5);
        using var b = TestModel.Create(hf with { RopeStyle = RopeStyle.Interleaved }, seed: 5);
        var store = new NativeTensorStore("permuted");
        var tensors = new Dictionary<string, TensorView>(b.Model.Tensors);
        for (int l = 0; l < hf.NumLayers; l++)
        {
            foreach (var (name, heads) in new[] { ($"model.layers.{l}.self_attn.q_proj.weight", hf.NumHeads), ($"model.layers.{l}.self_attn.k_proj.weight", hf.NumKvHeads) })
            {
                var src = a.Values[name];
                var dst = new float[src.Length];
                int hd = hf.HeadDim;
                int k = hf.HiddenSize;
                for (int h = 0; h < heads; h++)
                {
                    for (int i = 0; i < hd / 2; i++)
                    {
                        Array.Copy(src, ((h * hd) + i) * k, dst, ((h * hd) + (2 * i)) * k, k);
                        Array.Copy(src, ((h * hd) + (hd / 2) + i) * k, dst, ((h * hd) + (2 * i) + 1) * k, k);
                    }
                }

                tensors[name] = store.AddF32(name, dst, heads * hd, k);
            }
        }

        using var permuted = new LoadedModel("permuted", b.Config, b.Model.Tokenizer, tensors, [store]);
        var options = new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 1 };
        using var ra = new CpuModelRunner(a.Model, options);
        using var rb = new CpuModelRunner(permuted, options);
        var tokens = Enumerable.Range(0, 30).Select(i => (i * 7) % hf.VocabSize).ToArray();
        var la = new BatchDriver(ra).RunAlone(new TestSequence(tokens, [0, 1]), 30);
        var lb = new BatchDriver(rb).RunAlone(new TestSequence(tokens, [0, 1]), 30);
        AssertClose(la.Select(r => r.Select(x => (double)x).ToArray()).ToArray(), lb, "permuted");
    }

    internal static void AssertClose(double[][] expected, IReadOnlyList<float[]> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Count);
        double maxAbs = expected.SelectMany(r => r).Max(Math.Abs);
        double worst = 0;
        int worstPos = -1;
        for (int t = 0; t < expected.Length; t++)
        {
            for (int i = 0; i < expected[t].Length; i++)
            {
                double diff = Math.Abs(expected[t][i] - actual[t][i]);
                if (diff > worst)
                {
                    worst = diff;
                    worstPos = t;
                }
            }
        }

        Assert.True(maxAbs > 0.1, $"{what}: logits are degenerate (max |logit| {maxAbs})");
        Assert.True(worst <= 1e-4 * maxAbs, $"{what}: max |diff| {worst:E3} at position {worstPos} exceeds 1e-4 x max |logit| {maxAbs:F4}");
    }
}
