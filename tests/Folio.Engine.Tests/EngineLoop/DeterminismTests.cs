using Folio.Engine.Core;
using Folio.Engine.Sampling;
using Folio.Engine;

using Folio.Testing;

namespace Folio.Engine.Tests.EngineLoop;

/// <summary>
/// Issue 3's headline: a request's tokens and logprobs are bitwise the same alone, in a batch of
/// mixed requests, with prefill chunked at any size, after preemption and recompute, with or without
/// prefix-cache hits, and when restarted from its prompt plus its first k tokens.
/// </summary>
public sealed class DeterminismTests
{
    private static readonly List<Folio.Engine.EngineRequest> Workload = EngineHarness.MixedWorkload(20, seed: 7);

    private static Dictionary<RequestKey, RunResult> Alone() =>
        Workload.ToDictionary(r => r.Key, r => EngineHarness.Run([r])[r.Key]);

    [Fact]
    public void Every_request_in_a_batch_of_20_matches_its_run_alone()
    {
        var alone = Alone();
        var batch = EngineHarness.Run(Workload, new EngineConfig { MaxNumSeqs = 32 });
        Assert.Equal(Workload.Count, batch.Count);
        foreach (var (id, r) in alone)
        {
            r.AssertSameGeneration(batch[id]);
            Assert.Equal(r.FinalText, batch[id].FinalText);
            Assert.Equal(r.Reason, batch[id].Reason);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    public void Chunked_prefill_at_any_budget_gives_the_same_tokens(int budget)
    {
        var reference = EngineHarness.Run(Workload);
        var chunked = EngineHarness.Run(Workload, new EngineConfig { MaxNumBatchedTokens = budget, MaxNumSeqs = 8 }, afterStep: (_, runner) => Assert.True(runner.MaxTokensSeen <= budget));
        foreach (var (id, r) in reference)
        {
            r.AssertSameGeneration(chunked[id]);
        }
    }

    [Fact]
    public void Preemption_and_recompute_in_a_tiny_cache_give_the_same_tokens()
    {
        var reference = EngineHarness.Run(Workload);
        long preemptions = 0;

        // 40 blocks of 4 tokens: the largest request (~160 tokens) fits alone, not beside others.
        var tight = EngineHarness.Run(Workload, new EngineConfig { MaxNumSeqs = 16, MaxNumBatchedTokens = 64 }, numBlocks: 40, blockSize: 4,
            afterStep: (engine, _) => preemptions = engine.Metrics.Preemptions);
        Assert.True(preemptions > 0, "the workload was meant to force preemption");
        foreach (var (id, r) in reference)
        {
            r.AssertSameGeneration(tight[id]);
            Assert.Equal(r.ConcatenatedDeltas, tight[id].ConcatenatedDeltas);
        }
    }

    [Fact]
    public void Prefix_cache_hits_do_not_change_any_result()
    {
        // Twice the workload: the second copy finds the first's blocks in the cache.
        var doubled = Workload.Concat(Workload.Select(r => r with { Key = new RequestKey(r.Key.Value + 1_000_000) })).ToList();
        long hits = 0;
        var cached = EngineHarness.Run(doubled, new EngineConfig { MaxNumSeqs = 4 }, afterStep: (e, _) => hits = e.Metrics.PrefixHitTokens);
        var uncached = EngineHarness.Run(doubled, new EngineConfig { MaxNumSeqs = 4, EnablePrefixCaching = false });
        Assert.True(hits > 0, "expected prefix-cache hits");
        foreach (var (id, r) in uncached)
        {
            r.AssertSameGeneration(cached[id]);
        }

        Assert.Contains(cached.Values, r => r.Usage.CachedTokens > 0);
        Assert.All(uncached.Values, r => Assert.Equal(0, r.Usage.CachedTokens));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(9)]
    public void Restart_from_prompt_plus_first_k_tokens_continues_identically(int k)
    {
        var full = EngineHarness.Run(Workload);
        var resumable = Workload.Where(r => full[r.Key].Tokens.Length > k).ToList();
        Assert.NotEmpty(resumable);
        var resumed = EngineHarness.Run(resumable.Select(r => r with
        {
            ResumeTokenIds = full[r.Key].Tokens[..k],
            Params = r.Params with { Seed = full[r.Key].Seed },
        }));
        foreach (var r in resumable)
        {
            var before = full[r.Key];
            var after = resumed[r.Key];
            before.AssertSameGeneration(after, skip: k);
            Assert.Equal(Enumerable.Range(k, after.Tokens.Length), after.Indices);

            // The earlier run's first k deltas plus the resumed run's deltas are the uninterrupted text.
            Assert.Equal(before.FinalText, after.FinalText);
            Assert.EndsWith(after.ConcatenatedDeltas, before.FinalText, StringComparison.Ordinal);
            Assert.Equal(before.Usage.CompletionTokens, after.Usage.CompletionTokens);
        }
    }

    [Fact]
    public void Parallel_sampling_of_rows_gives_the_same_tokens_as_sequential()
    {
        var sequential = EngineHarness.Run(Workload, new EngineConfig { MaxNumSeqs = 32 });
        // Threshold 0: every step with two or more rows splits them over the samplers.
        var split = EngineHarness.Run(Workload, new EngineConfig { MaxNumSeqs = 32 }, configure: e => e.ParallelSamplingWork = 0);
        foreach (var (id, r) in sequential)
        {
            r.AssertSameGeneration(split[id]);
        }
    }

    [Fact]
    public void Unseeded_request_reports_a_seed_that_reproduces_it()
    {
        var p = new SamplingParams { Temperature = 1.0, MaxTokens = 12, IgnoreEos = true, Logprobs = 1 };
        var first = EngineHarness.Run([EngineHarness.Request("a", [5, 6, 7], p)])[EngineHarness.Key("a")];
        var again = EngineHarness.Run([EngineHarness.Request("a", [5, 6, 7], p with { Seed = first.Seed })])[EngineHarness.Key("a")];
        first.AssertSameGeneration(again);
    }

    [Fact]
    public void Same_seed_gives_same_tokens_different_seeds_differ()
    {
        var p = new SamplingParams { Temperature = 1.0, MaxTokens = 20, IgnoreEos = true, Seed = 42 };
        var a = EngineHarness.Run([EngineHarness.Request("a", [9, 9, 9], p), EngineHarness.Request("b", [9, 9, 9], p), EngineHarness.Request("c", [9, 9, 9], p with { Seed = 43 })]);
        Assert.Equal(a[EngineHarness.Key("a")].Tokens, a[EngineHarness.Key("b")].Tokens);
        Assert.NotEqual(a[EngineHarness.Key("a")].Tokens, a[EngineHarness.Key("c")].Tokens);
    }
}
