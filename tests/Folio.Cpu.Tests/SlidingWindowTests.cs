using System.Runtime.InteropServices;
using Folio.Cpu.Tests.Support;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// Sliding-window attention on every layer (Mistral, Phi-3, a windowed Qwen2) on the CPU runner:
/// logits against a dense float64 forward that masks keys outside the window, with the blocks behind
/// the window poisoned so that reading one would show; the HF folder and GGUF of a Mistral-shaped
/// model carry the window and agree past it; the engine over the real runner drops blocks and still
/// gives bitwise the same tokens alone, batched, chunked, preempted and from the prefix cache.
/// </summary>
public sealed class SlidingWindowTests
{
    public static TheoryData<string> Shapes => new(["gqa-hd32-window8", "mqa-hd64-window16", "mha-hd16-window5"]);

    private static ModelConfig Shape(string name) => name switch
    {
        "gqa-hd32-window8" => TestModel.Shape(hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 32, ffn: 96, vocab: 67) with { SlidingWindow = 8 },
        "mqa-hd64-window16" => TestModel.Shape(128, 2, 4, 1, 64, 128, 80) with { SlidingWindow = 16, RopeStyle = RopeStyle.Interleaved },
        "mha-hd16-window5" => TestModel.Shape(48, 3, 3, 3, 16, 64, 50) with { SlidingWindow = 5, AttentionBias = true },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Logits_past_the_window_match_a_dense_windowed_reference_without_reading_dropped_blocks(string shape)
    {
        var config = Shape(shape);
        int window = config.SlidingWindow!.Value;
        Assert.Equal(window, config.WindowOfEveryLayer);
        using var model = TestModel.Create(config, seed: shape.Length * 31);
        const int blockSize = 4;
        const int poison = 15;
        using var runner = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 16, BlockSize = blockSize, Threads = 2 });
        Poison(runner, poison, blockSize);

        var rng = new Random(5);
        var tokens = Enumerable.Range(0, 45).Select(_ => rng.Next(config.VocabSize)).ToArray();

        // Blocks scattered in the pool; chunks of several sizes cross the window and block edges.
        var seq = new TestSequence(tokens, [3, 9, 0, 11, 5, 1, 8, 2, 10, 4, 7, 6]);
        var driver = new BatchDriver(runner);
        var got = new List<float[]>();
        foreach (int chunk in new[] { 5, 11, 1, 20, 8 })
        {
            got.AddRange(driver.Step(new StepPart(seq, chunk, LogitsForEveryToken: true))[0]);

            // What the KV manager does: entries no later query can see point at the poisoned block.
            int firstVisible = Math.Max(0, seq.Cached + 1 - window) / blockSize;
            for (int b = 0; b < firstVisible; b++)
            {
                seq.Blocks[b] = poison;
            }
        }

        Assert.All(got, row => Assert.All(row, x => Assert.True(float.IsFinite(x), "a poisoned (out-of-window) block was read")));
        CpuModelRunnerReferenceTests.AssertClose(ReferenceForward.Run(config, model.Values, tokens), got, shape);

        // The window reaches the logits: whole-context attention agrees before it and not after.
        var dense = ReferenceForward.Run(config with { SlidingWindow = null }, model.Values, tokens);
        double maxAbs = dense.SelectMany(r => r).Max(Math.Abs);
        double Diff(int t) => dense[t].Zip(got[t], (a, b) => Math.Abs(a - b)).Max();
        Assert.All(Enumerable.Range(0, window), t => Assert.True(Diff(t) <= 1e-4 * maxAbs, $"position {t} is inside the window"));
        Assert.True(Enumerable.Range(window, tokens.Length - window).Max(Diff) > 1e-2 * maxAbs, "past the window, whole-context attention should give other logits");
    }

    [Fact]
    public void A_mistral_folder_and_its_gguf_carry_the_window_and_agree_past_it()
    {
        var o = new TestModelOptions { Arch = TestArchitecture.Mistral, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 192, Vocab = 300, Seed = 91, SlidingWindow = 8, MaxPositions = 4096 };
        using var dir = new TempDir();
        string gguf = dir.File("m.gguf");
        string hf = dir.File("hf");
        TestModelWriter.Write(gguf, TestModelFormat.Gguf, o);
        TestModelWriter.Write(hf, TestModelFormat.HuggingFace, o);
        var rng = new Random(4);
        var tokens = Enumerable.Range(0, 40).Select(_ => rng.Next(o.Vocab)).ToArray();

        float[][] Run(string path)
        {
            using var model = ModelLoader.Load(path);
            Assert.Equal(8, model.Config.WindowOfEveryLayer);

            // The context served is the model's, not the window.
            Assert.Equal(4096, model.Config.MaxPositionEmbeddings);
            using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 4, BlockSize = 16, Threads = 2 });
            return new BatchDriver(runner).RunAlone(new TestSequence(tokens, [0, 1, 2]), 13);
        }

        var fromHf = Run(hf);
        var fromGguf = Run(gguf);
        double maxAbs = fromHf.SelectMany(r => r).Max(x => Math.Abs((double)x));
        double maxDiff = fromHf.Zip(fromGguf).SelectMany(p => p.First.Zip(p.Second, (a, b) => Math.Abs((double)a - b))).Max();
        Assert.True(maxAbs > 0.1, "degenerate logits");
        Assert.True(maxDiff <= 1e-5 * maxAbs, $"max |diff| {maxDiff:E3} between formats, max |logit| {maxAbs:F4}");
    }

    [Fact]
    public void Llama_cpp_agrees_within_the_window_and_ignores_it_past_it()
    {
        // llama.cpp's llama graph reads no sliding_window key: the same GGUF is whole-context there.
        var o = new TestModelOptions { Arch = TestArchitecture.Mistral, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 192, Vocab = 300, Seed = 92, SlidingWindow = 16 };
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var prompt = LlamaCppOracle.Prompt(o.Vocab, 28);
        var folio = LlamaCppOracle.FolioPromptLogits(path, prompt);
        var llama = LlamaCppOracle.LlamaPromptLogits(path, prompt, o.Vocab);
        var (inside, maxAbs) = LlamaCppOracle.Compare(llama[..16], folio[..16]);
        var (past, _) = LlamaCppOracle.Compare(llama[16..], folio[16..]);
        Assert.True(maxAbs > 0.1, "degenerate logits");
        Assert.True(inside <= 1e-4 * maxAbs, $"within the window: max |diff| {inside:E3}, max |logit| {maxAbs:F4}");
        Assert.True(past > 1e-3 * maxAbs, $"past the window Folio windows and llama.cpp does not, yet max |diff| is only {past:E3}");
    }

    [Fact]
    public void The_engine_drops_blocks_and_gives_the_same_tokens_alone_batched_chunked_preempted_and_cached()
    {
        var config = TestModel.Shape(hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 96, vocab: EngineHarness.Vocab) with { SlidingWindow = 8 };
        using var model = TestModel.Create(config, seed: 77);
        var workload = EngineHarness.MixedWorkload(8, seed: 23, maxPrompt: 40, maxTokens: 40);
        Dictionary<RequestKey, RunResult> Run(IEnumerable<EngineRequest> requests, EngineConfig? options = null, int blocks = 256, Action<LlmEngine, FakeModelRunner>? afterStep = null) =>
            EngineHarness.Run(requests, options, blocks, 4, afterStep, runnerFactory: (b, s) => new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = b, BlockSize = s, Threads = 2 }));

        var alone = workload.ToDictionary(r => r.Key, r => Run([r])[r.Key]);
        long dropped = 0;
        var batched = Run(workload, new EngineConfig { MaxNumSeqs = 8 }, afterStep: (e, _) => dropped = e.Metrics.KvBlocksDropped);
        var chunked = Run(workload, new EngineConfig { MaxNumSeqs = 8, MaxNumBatchedTokens = 5 });
        long preemptions = 0;
        var tight = Run(workload, new EngineConfig { MaxNumSeqs = 8, MaxNumBatchedTokens = 8 }, blocks: 12, afterStep: (e, _) => preemptions = e.Metrics.Preemptions);
        var doubled = workload.Concat(workload.Select(r => r with { Key = new RequestKey(r.Key.Value + 1_000_000) })).ToList();
        long hits = 0;
        var cached = Run(doubled, new EngineConfig { MaxNumSeqs = 4 }, blocks: 48, afterStep: (e, _) => hits = e.Metrics.PrefixHitTokens);
        var uncached = Run(doubled, new EngineConfig { MaxNumSeqs = 4, EnablePrefixCaching = false }, blocks: 48);

        Assert.True(dropped > 0, "the workload was meant to run past the window");
        Assert.True(preemptions > 0, "the tight cache was meant to force preemption");
        Assert.True(hits > 0, "expected prefix-cache hits");
        foreach (var (key, r) in alone)
        {
            r.AssertSameGeneration(batched[key]);
            r.AssertSameGeneration(chunked[key]);
            r.AssertSameGeneration(tight[key]);
        }

        // The second copy of each request finds the first's blocks (dropped ones evicted or not).
        foreach (var (key, r) in uncached)
        {
            r.AssertSameGeneration(cached[key]);
        }
    }

    /// <summary>Fills one block of every layer's K and V with NaN: attention that reads it returns NaN.</summary>
    private static void Poison(CpuModelRunner runner, int block, int blockSize)
    {
        int kvDim = runner.Config.KvDim;
        for (int layer = 0; layer < runner.Config.NumLayers; layer++)
        {
            foreach (bool values in new[] { false, true })
            {
                var pool = runner.KvPool(layer, values);
                var writable = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(pool), pool.Length);
                writable.Slice(block * blockSize * kvDim, blockSize * kvDim).Fill(float.NaN);
            }
        }
    }
}
