using Folio.Engine.Core;
using Folio.Engine.Sampling;
using Folio.Testing;

namespace Folio.Engine.Tests.EngineLoop;

/// <summary>
/// The engine over a runner whose every layer is windowed (the fake runner with a window reads only
/// the window's slots and throws on a dropped block table entry): sequences give blocks back as
/// they grow, so one longer than the whole KV pool is served, and the results do not depend on the
/// batch, chunking, preemption or prefix-cache hits across dropped blocks.
/// </summary>
public sealed class SlidingWindowEngineTests
{
    private const int Window = 12;
    private const int BlockSize = 4;

    private static readonly List<EngineRequest> Workload = EngineHarness.MixedWorkload(16, seed: 19, maxPrompt: 70, maxTokens: 60);

    private static Func<int, int, Folio.Engine.Execution.IModelRunner> Windowed(int window = Window) =>
        (blocks, size) => new FakeModelRunner(EngineHarness.Vocab, blocks, size, slidingWindow: window);

    private static Dictionary<RequestKey, RunResult> Run(IEnumerable<EngineRequest> requests, EngineConfig? options = null, int numBlocks = 512, Action<LlmEngine, FakeModelRunner>? afterStep = null) =>
        EngineHarness.Run(requests, options, numBlocks, BlockSize, afterStep, runnerFactory: Windowed());

    [Fact]
    public void A_sequence_longer_than_the_whole_pool_is_served_holding_only_its_window()
    {
        // 12 blocks of 4 hold 48 tokens; the request needs 500. Each step reads at most 11 + 16
        // positions, 8 blocks; a decode step holds window / blockSize + 1 = 4.
        var prompt = Enumerable.Range(0, 200).Select(i => 2 + ((i * 37) % 290)).ToArray();
        var request = EngineHarness.Request("long", prompt, new SamplingParams { Temperature = 0, MaxTokens = 300, IgnoreEos = true });
        var options = new EngineConfig { MaxNumBatchedTokens = 16, MaxNumSeqs = 4 };
        int maxUsed = 0;
        int maxHeldDecoding = 0;
        long dropped = 0;
        var small = Run([request], options, numBlocks: 12, afterStep: (engine, _) =>
        {
            maxUsed = Math.Max(maxUsed, engine.Metrics.KvBlocksUsed);
            foreach (var seq in engine.Scheduler.Running)
            {
                // After the second output token every step is a decode step (the last prefill chunk held more).
                if (seq.NumOutputTokens > 1)
                {
                    maxHeldDecoding = Math.Max(maxHeldDecoding, seq.Table.NumHeld);
                }
            }

            dropped = engine.Kv.DroppedBlocks;
        });

        var r = small[request.Key];
        Assert.Equal(FinishReason.Length, r.Reason);
        Assert.Equal(300, r.Tokens.Length);
        Assert.InRange(maxUsed, 1, 8);
        Assert.Equal((Window / BlockSize) + 1, maxHeldDecoding);
        Assert.True(dropped >= (500 / BlockSize) - 8, $"only {dropped} blocks were dropped");

        // The same request in a cache that never fills gives the same tokens.
        Run([request], options, numBlocks: 512)[request.Key].AssertSameGeneration(r);

        // Without a window the same pool cannot hold the prompt: the test above needs the dropping.
        var dense = EngineHarness.Run([request], options, 12, BlockSize);
        Assert.Equal(FinishReason.PromptTooLong, dense[request.Key].Reason);
    }

    [Fact]
    public void Every_request_in_a_batch_matches_its_run_alone()
    {
        var alone = Workload.ToDictionary(r => r.Key, r => Run([r])[r.Key]);
        long dropped = 0;
        var batch = Run(Workload, new EngineConfig { MaxNumSeqs = 16 }, afterStep: (e, _) => dropped = e.Kv.DroppedBlocks);
        Assert.True(dropped > 0, "the workload was meant to run past the window");
        foreach (var (key, r) in alone)
        {
            r.AssertSameGeneration(batch[key]);
            Assert.Equal(r.FinalText, batch[key].FinalText);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(13)]
    [InlineData(33)]
    public void Chunked_prefill_across_the_window_gives_the_same_tokens(int budget)
    {
        var reference = Run(Workload);
        var chunked = Run(Workload, new EngineConfig { MaxNumBatchedTokens = budget, MaxNumSeqs = 8 }, afterStep: (_, runner) => Assert.True(runner.MaxTokensSeen <= budget));
        foreach (var (key, r) in reference)
        {
            r.AssertSameGeneration(chunked[key]);
        }
    }

    [Fact]
    public void Preemption_and_recompute_with_dropped_blocks_give_the_same_tokens()
    {
        var reference = Run(Workload);
        long preemptions = 0;
        long dropped = 0;

        // 14 blocks of 4 with a budget of 16: one sequence needs at most 8 at once, two or three fit.
        var tight = Run(Workload, new EngineConfig { MaxNumSeqs = 8, MaxNumBatchedTokens = 16 }, numBlocks: 14, afterStep: (engine, _) =>
        {
            preemptions = engine.Metrics.Preemptions;
            dropped = engine.Kv.DroppedBlocks;
        });
        Assert.True(preemptions > 0, "the workload was meant to force preemption");
        Assert.True(dropped > 0, "the workload was meant to drop blocks");
        foreach (var (key, r) in reference)
        {
            r.AssertSameGeneration(tight[key]);
            Assert.Equal(r.ConcatenatedDeltas, tight[key].ConcatenatedDeltas);
        }
    }

    [Fact]
    public void Prefix_cache_hits_over_dropped_blocks_do_not_change_any_result()
    {
        var doubled = Workload.Concat(Workload.Select(r => r with { Key = new RequestKey(r.Key.Value + 1_000_000) })).ToList();
        long hits = 0;
        var cached = Run(doubled, new EngineConfig { MaxNumSeqs = 4 }, numBlocks: 64, afterStep: (e, _) => hits = e.Metrics.PrefixHitTokens);
        var uncached = Run(doubled, new EngineConfig { MaxNumSeqs = 4, EnablePrefixCaching = false }, numBlocks: 64);
        Assert.True(hits > 0, "expected prefix-cache hits");
        foreach (var (key, r) in uncached)
        {
            r.AssertSameGeneration(cached[key]);
        }
    }

    [Fact]
    public void A_later_request_reuses_the_window_of_an_ended_one_whose_first_blocks_were_evicted()
    {
        // A generates 120 tokens in a 16-block pool: its early blocks are dropped, then evicted by its
        // own later allocations. B continues A's text: only the blocks inside B's first window are
        // still cached, and a whole-context prefix match would find nothing.
        var promptA = Enumerable.Range(0, 30).Select(i => 2 + ((i * 53) % 290)).ToArray();
        var a = EngineHarness.Request("a", promptA, new SamplingParams { Temperature = 0, MaxTokens = 120, IgnoreEos = true });
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 16, BlockSize, slidingWindow: Window);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumBatchedTokens = 16 }, sink);
        engine.AddRequest(a);
        while (engine.HasWork)
        {
            engine.Step();
        }

        var outA = EngineHarness.Collect(sink.Snapshot())[a.Key];
        Assert.True(engine.Kv.Pool.Evictions > 0, "A's first blocks were meant to be evicted");
        int[] promptB = [.. promptA, .. outA.Tokens, 7, 8, 9];
        var b = EngineHarness.Request("b", promptB, new SamplingParams { Temperature = 0, MaxTokens = 20, IgnoreEos = true });
        long hitsBefore = engine.Metrics.PrefixHitTokens;
        engine.AddRequest(b);
        while (engine.HasWork)
        {
            engine.Step();
            engine.Kv.Pool.CheckConsistency(expectAllFree: false);
        }

        engine.Kv.Pool.CheckConsistency(expectAllFree: true);
        long hitTokens = engine.Metrics.PrefixHitTokens - hitsBefore;
        Assert.True(hitTokens >= Window, $"B found {hitTokens} cached tokens; its window's blocks were still cached");
        var outB = EngineHarness.Collect(sink.Snapshot())[b.Key];
        var fresh = Run([b])[b.Key];
        fresh.AssertSameGeneration(outB);
    }
}
