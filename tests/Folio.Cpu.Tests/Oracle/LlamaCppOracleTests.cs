using Folio.Cpu;
using Folio.Models.Loading;
using Folio.Testing;
using LLama.Common;
using LLama.Native;
using LLama;

using Folio.ModelTools;

namespace Folio.Cpu.Tests.Oracle;

/// <summary>
/// Folio's CPU forward pass against llama.cpp (LLamaSharp, flash attention off, f32 K/V) on f32
/// GGUF files from make-test-model's writer: logits at every prompt position within 1e-4 of the
/// largest |logit|, and the same 32-token greedy continuation. llama.cpp reads the same file with its
/// own loader, rope and attention, so this checks the GGUF path end to end (q/k layout included).
/// </summary>
public sealed class LlamaCppOracleTests
{
    private const int PromptLength = 24;
    private const int Continuation = 32;

    public static TheoryData<string> Shapes => new(["gqa", "bias-tied-hd48", "mha-llama3", "gqa-hd128"]);

    private static TestModelOptions Shape(string name) => name switch
    {
        "gqa" => new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, Seed = 31 },
        "bias-tied-hd48" => new TestModelOptions { Dim = 64, Layers = 2, Heads = 2, KvHeads = 1, HeadDim = 48, Ffn = 128, Vocab = 280, Seed = 32, Bias = true, Tied = true },
        "mha-llama3" => new TestModelOptions { Dim = 96, Layers = 2, Heads = 3, KvHeads = 3, Ffn = 160, Vocab = 320, Seed = 33, Llama3Scaling = true, RopeTheta = 500000f },
        "gqa-hd128" => new TestModelOptions { Dim = 256, Layers = 2, Heads = 2, KvHeads = 1, Ffn = 384, Vocab = 400, Seed = 34 },
        _ => throw new ArgumentException(name),
    };

    private static ModelParams OracleParams(string path) => new(path)
    {
        GpuLayerCount = 0,
        ContextSize = 128,
        BatchSize = 64,
        UBatchSize = 64,
        Threads = 2,
        BatchThreads = 2,
        FlashAttention = false,
        TypeK = GGMLType.GGML_TYPE_F32,
        TypeV = GGMLType.GGML_TYPE_F32,
    };

    private static int[] Prompt(int vocab)
    {
        var rng = new Random(vocab);
        return Enumerable.Range(0, PromptLength).Select(_ => rng.Next(vocab)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Logits_at_every_prompt_position_match_llama_cpp_within_1e4_of_the_largest(string shape)
    {
        var o = Shape(shape);
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var prompt = Prompt(o.Vocab);

        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2 });
        var folio = new BatchDriver(runner).RunAlone(new TestSequence(prompt, [0, 1]), PromptLength);

        using var weights = LLamaWeights.LoadFromFile(OracleParams(path));
        using var context = weights.CreateContext(OracleParams(path));
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, true);
        }

        Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < prompt.Length; i++)
        {
            var expected = context.NativeHandle.GetLogitsIth(i);
            Assert.Equal(o.Vocab, expected.Length);
            for (int v = 0; v < o.Vocab; v++)
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(expected[v]));
                maxDiff = Math.Max(maxDiff, Math.Abs(expected[v] - folio[i][v]));
            }
        }

        Assert.True(maxAbs > 0.1, $"{shape}: degenerate logits (max |logit| {maxAbs})");
        Assert.True(maxDiff <= 1e-4 * maxAbs, $"{shape}: max |logit diff| {maxDiff:E3} > 1e-4 x max |logit| {maxAbs:F4}");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Greedy_continuation_of_32_tokens_is_the_same_as_llama_cpps(string shape)
    {
        var o = Shape(shape);
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var prompt = Prompt(o.Vocab);

        var tokens = new int[PromptLength + Continuation];
        prompt.CopyTo(tokens, 0);
        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2 });
        var driver = new BatchDriver(runner);
        var seq = new TestSequence(tokens, [3, 0, 5, 1]);
        var logits = driver.Step(new StepPart(seq, PromptLength))[0][0];
        var folio = new List<int>();
        var gaps = new List<double>();
        for (int i = 0; i < Continuation; i++)
        {
            int next = ArgMax(logits);
            folio.Add(next);
            gaps.Add(TopTwoGap(logits));
            if (i + 1 < Continuation)
            {
                tokens[PromptLength + i] = next;
                logits = driver.Step(new StepPart(seq, 1))[0][0];
            }
        }

        using var weights = LLamaWeights.LoadFromFile(OracleParams(path));
        using var context = weights.CreateContext(OracleParams(path));
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        }

        var llama = new List<int>();
        for (int i = 0; i < Continuation; i++)
        {
            Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
            int next = ArgMax(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            llama.Add(next);
            batch.Clear();
            batch.Add(next, PromptLength + i, LLamaSeqId.Zero, true);
        }

        Assert.True(folio.SequenceEqual(llama), $"{shape}: folio [{string.Join(", ", folio)}] vs llama.cpp [{string.Join(", ", llama)}]; smallest top-2 gap on Folio's side {gaps.Min():E2}");
    }

    /// <summary>Greedy with the engine's tie rule: the lowest id among equal maxima.</summary>
    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static double TopTwoGap(float[] logits)
    {
        var sorted = logits.OrderByDescending(x => x).Take(2).ToArray();
        return sorted[0] - sorted[1];
    }
}
