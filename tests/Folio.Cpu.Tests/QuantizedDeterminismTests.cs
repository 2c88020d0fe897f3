using Folio.Cpu.Tests.Support;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// The determinism guarantees hold with quantized weights and int8 activations too: a sequence's
/// logits are bitwise the same alone or in mixed batches (its rows in every tile position), however
/// its prompt is chunked and whatever the thread count; the engine's tokens and logprobs likewise.
/// Files come from llama.cpp's quantizer.
/// </summary>
public sealed class QuantizedDeterminismTests
{
    private static readonly TestModelOptions Shape = new() { Dim = 256, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 512, Vocab = EngineHarness.Vocab, Seed = 81, Bias = true };

    public static TheoryData<string> Mixes => new(["Q4_K_M", "Q8_0", "Q5_1", "IQ4_XS", "Q2_K"]);

    private static int[] Tokens(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(Shape.Vocab)).ToArray();
    }

    private static CpuModelRunner Runner(Folio.Models.LoadedModel model, int threads) => new(model, new CpuRunnerOptions { NumBlocks = 40, BlockSize = 16, Threads = threads });

    [Theory]
    [MemberData(nameof(Mixes))]
    public void Logits_are_bitwise_identical_alone_and_in_mixed_batches(string mix)
    {
        using var model = ModelLoader.Load(QuantizedTestModels.Get("determinism", Shape, mix));
        var prompt = Tokens(45, 1);
        float[][] alone;
        using (var r = Runner(model, 2))
        {
            alone = new BatchDriver(r).RunAlone(new TestSequence(prompt, [0, 1, 2]), 39);
        }

        using var runner = Runner(model, 2);
        var d = new BatchDriver(runner);
        var a = new TestSequence(prompt, [17, 4, 30]);
        var b = new TestSequence(Tokens(60, 2), [1, 2, 3, 5]);
        var c = new TestSequence(Tokens(33, 3), [6, 7, 8]);
        var e = new TestSequence(Tokens(20, 4), [9, 10]);
        var got = new List<float[]>();
        d.Step(new StepPart(b, 30));
        got.AddRange(d.Step(new StepPart(b, 2), new StepPart(a, 13, true), new StepPart(c, 3))[1]);
        got.AddRange(d.Step(new StepPart(c, 20), new StepPart(a, 26, true))[1]);
        got.AddRange(d.Step(new StepPart(a, 1, true))[0]);
        got.AddRange(d.Step(new StepPart(b, 1), new StepPart(a, 1, true))[1]);
        got.AddRange(d.Step(new StepPart(b, 1), new StepPart(c, 1), new StepPart(a, 1, true))[2]);
        got.AddRange(d.Step(new StepPart(e, 19), new StepPart(b, 1), new StepPart(c, 1), new StepPart(a, 1, true))[3]);
        got.AddRange(d.Step(new StepPart(a, 1, true), new StepPart(e, 1), new StepPart(b, 1), new StepPart(c, 1))[0]);
        got.AddRange(d.Step(new StepPart(b, 5), new StepPart(a, 1, true))[1]);
        AssertBitwiseEqual(alone, got, mix);
    }

    [Theory]
    [MemberData(nameof(Mixes))]
    public void Prefill_chunking_and_thread_count_do_not_change_any_logit_bit(string mix)
    {
        using var model = ModelLoader.Load(QuantizedTestModels.Get("determinism", Shape, mix));
        var tokens = Tokens(50, 9);
        float[][] whole;
        using (var r = Runner(model, 2))
        {
            whole = new BatchDriver(r).RunAlone(new TestSequence(tokens, [3, 2, 1, 0]), 50);
        }

        foreach (var (threads, chunk) in new[] { (1, 1), (2, 7), (3, 16), (1, 50) })
        {
            using var r = Runner(model, threads);
            var chunked = new BatchDriver(r).RunAlone(new TestSequence(tokens, [8, 9, 10, 11]), chunk);
            AssertBitwiseEqual(whole, chunked, $"{mix}, {threads} threads, chunks of {chunk}");
        }
    }

    [Fact]
    public void Engine_tokens_and_logprobs_match_each_request_alone_in_a_batch_of_mixed_requests()
    {
        using var model = ModelLoader.Load(QuantizedTestModels.Get("determinism", Shape, "Q4_K_M"));
        var workload = EngineHarness.MixedWorkload(12, seed: 23, maxPrompt: 60, maxTokens: 10);
        var batch = EngineHarness.Run(workload, runnerFactory: (blocks, blockSize) => new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = blocks, BlockSize = blockSize, Threads = 2 }));
        foreach (var r in workload.Take(5))
        {
            var (key, alone) = EngineHarness.Run([r], runnerFactory: (blocks, blockSize) => new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = blocks, BlockSize = blockSize, Threads = 2 })).Single();
            alone.AssertSameGeneration(batch[key]);
        }
    }

    private static void AssertBitwiseEqual(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int t = 0; t < expected.Count; t++)
        {
            for (int i = 0; i < expected[t].Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(expected[t][i]) != BitConverter.SingleToInt32Bits(actual[t][i]))
                {
                    Assert.Fail($"{what}: row {t}, logit {i}: {expected[t][i]:R} != {actual[t][i]:R}");
                }
            }
        }
    }
}
