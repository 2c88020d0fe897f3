using Folio.Cpu.Tests.Support;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Models;
using Folio.Models.Loading;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// Qwen2 and Qwen3 folders with use_sliding_window, sliding_window 8 and max_window_layers 2 of 4
/// layers: as transformers' Qwen2Config/Qwen3Config build layer_types, layers 0-1 attend to the whole
/// context and layers 2-3 to the last 8 keys (the query's own included). Logits at every position of
/// a 48-token prompt against the float64 reference within 1e-4 x max |logit|; max_window_layers equal
/// to the layer count is the plain model bitwise; and the engine drops no KV block, since a
/// full-attention layer still reads every one (determinism of such models is in
/// <see cref="ArchitectureDeterminismTests"/>).
/// </summary>
public sealed class QwenMixedWindowTests
{
    private const int Window = 8;
    private const int MaxWindowLayers = 2;

    public static TheoryData<string> Families => new(["qwen2", "qwen3"]);

    [Theory]
    [MemberData(nameof(Families))]
    public void Full_layers_below_max_window_layers_and_windowed_ones_above_match_the_float64_reference(string family)
    {
        var o = QwenWindowedFolders.Options(family, vocab: 300, seed: 41 + family.Length);
        using var dir = new TempDir();
        var weights = QwenWindowedFolders.Write(dir.File("hf"), o, Window, MaxWindowLayers);
        using var model = ModelLoader.Load(dir.File("hf"));

        // What the loader made of the folder: the window, and which layers it applies to.
        Assert.Equal(Window, model.Config.SlidingWindow);
        Assert.Equal([false, false, true, true], Enumerable.Range(0, model.Config.NumLayers).Select(model.Config.IsLocalLayer));
        Assert.Null(model.Config.WindowOfEveryLayer);

        var rng = new Random(9);
        var tokens = Enumerable.Range(0, 48).Select(_ => rng.Next(o.Vocab)).ToArray();
        const int blockSize = 4;
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 16, BlockSize = blockSize, Threads = 2 });

        // Blocks scattered in the pool; chunks of several sizes cross the window and block edges.
        var seq = new TestSequence(tokens, [3, 9, 0, 11, 5, 1, 8, 2, 10, 4, 7, 6]);
        var driver = new BatchDriver(runner);
        var got = new List<float[]>();
        foreach (int chunk in new[] { 5, 11, 1, 20, 11 })
        {
            got.AddRange(driver.Step(new StepPart(seq, chunk, LogitsForEveryToken: true))[0]);
        }

        // The reference is given the config the folder was written from, not the loader's reading of it.
        var written = QwenWindowedFolders.Config(o, Window, MaxWindowLayers);
        CpuModelRunnerReferenceTests.AssertClose(ReferenceForward.Run(written, weights, tokens), got, family);

        // Both kinds of layer reach the logits: whole-context attention everywhere, and the window on
        // every layer, agree inside the window and not past it.
        var everywhereFull = ReferenceForward.Run(written with { SlidingWindow = null, FirstLocalLayer = 0 }, weights, tokens);
        var everywhereWindowed = ReferenceForward.Run(written with { FirstLocalLayer = 0 }, weights, tokens);
        double maxAbs = everywhereFull.SelectMany(r => r).Max(Math.Abs);
        foreach (var (name, other) in new[] { ("full attention on every layer", everywhereFull), ("the window on every layer", everywhereWindowed) })
        {
            double Diff(int t) => other[t].Zip(got[t], (a, b) => Math.Abs(a - b)).Max();
            Assert.All(Enumerable.Range(0, Window), t => Assert.True(Diff(t) <= 1e-4 * maxAbs, $"{name}: position {t} is inside the window"));
            Assert.True(Enumerable.Range(Window, tokens.Length - Window).Max(Diff) > 1e-2 * maxAbs, $"{name} should give other logits past the window");
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Max_window_layers_at_the_layer_count_is_the_plain_model_bitwise(string family)
    {
        var o = QwenWindowedFolders.Options(family, vocab: 300, seed: 43);
        using var dir = new TempDir();
        QwenWindowedFolders.Write(dir.File("none-windowed"), o, Window, maxWindowLayers: o.Layers);
        QwenWindowedFolders.Write(dir.File("plain"), o, window: null, maxWindowLayers: 0);
        var rng = new Random(10);
        var tokens = Enumerable.Range(0, 30).Select(_ => rng.Next(o.Vocab)).ToArray();

        float[][] Run(string folder)
        {
            using var model = ModelLoader.Load(dir.File(folder));
            using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 8, Threads = 2 });
            return new BatchDriver(runner).RunAlone(new TestSequence(tokens, [0, 1, 2, 3]), 7);
        }

        using (var noneWindowed = ModelLoader.Load(dir.File("none-windowed")))
        {
            Assert.Null(noneWindowed.Config.SlidingWindow);
        }

        var expected = Run("plain");
        var actual = Run("none-windowed");
        Assert.Equal(expected.Length, actual.Length);
        for (int t = 0; t < expected.Length; t++)
        {
            Assert.Equal(expected[t], actual[t]);
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void The_engine_drops_no_block_when_a_full_attention_layer_still_reads_it(string family)
    {
        var o = QwenWindowedFolders.Options(family, vocab: EngineHarness.Vocab, seed: 47);
        using var dir = new TempDir();
        QwenWindowedFolders.Write(dir.File("hf"), o, Window, MaxWindowLayers);
        using var model = ModelLoader.Load(dir.File("hf"));
        var workload = EngineHarness.MixedWorkload(6, seed: 29, maxPrompt: 40, maxTokens: 30);
        Dictionary<RequestKey, RunResult> Run(IEnumerable<EngineRequest> requests, EngineConfig? options, int blocks, Action<LlmEngine, FakeModelRunner> afterStep) =>
            EngineHarness.Run(requests, options, blocks, 4, afterStep, runnerFactory: (b, s) => new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = b, BlockSize = s, Threads = 2 }));

        // KvBlocksDropped counts from the engine's start: the last step's figure is the run's.
        long dropped = 0;
        long preemptions = 0;
        long hits = 0;
        var doubled = workload.Concat(workload.Select(r => r with { Key = new RequestKey(r.Key.Value + 1_000_000) })).ToList();
        var cached = Run(doubled, new EngineConfig { MaxNumSeqs = 4 }, blocks: 48, afterStep: (e, _) =>
        {
            dropped = Math.Max(dropped, e.Metrics.KvBlocksDropped);
            hits = e.Metrics.PrefixHitTokens;
        });
        var tight = Run(workload, new EngineConfig { MaxNumSeqs = 6, MaxNumBatchedTokens = 8 }, blocks: 24, afterStep: (e, _) =>
        {
            dropped = Math.Max(dropped, e.Metrics.KvBlocksDropped);
            preemptions = e.Metrics.Preemptions;
        });

        Assert.True(workload.Max(r => r.PromptTokenIds.Count) > 2 * Window, "prompts were meant to run past the window");
        Assert.True(hits > 0, "expected prefix-cache hits");
        Assert.True(preemptions > 0, "the tight cache was meant to force preemption");
        Assert.Equal(0, dropped);
        foreach (var r in workload)
        {
            cached[r.Key].AssertSameGeneration(tight[r.Key]);
            cached[r.Key].AssertSameGeneration(cached[new RequestKey(r.Key.Value + 1_000_000)]);
        }
    }
}
