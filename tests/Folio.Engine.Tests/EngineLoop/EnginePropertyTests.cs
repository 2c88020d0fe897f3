using Folio.Engine.Scheduling;
using CsCheck;
using Folio.Engine.Sampling;
using Folio.Engine;

using Folio.Testing;

namespace Folio.Engine.Tests.EngineLoop;

/// <summary>
/// Random workloads against random engine shapes (block size, pool size, budgets, prefix caching,
/// aborts): after every step the pool is consistent (no negative count, free queue exact), budgets
/// hold, and at the end no block is held, every request finished exactly once, and every result is
/// a prefix of (or equal to) the result of the same request in a roomy engine without prefix caching.
/// </summary>
public sealed class EnginePropertyTests
{
    private sealed record Shape(int BlockSize, int NumBlocks, int MaxSeqs, int Budget, bool PrefixCaching, bool Priority, int Requests, int WorkloadSeed, int AbortEvery);

    private static readonly Gen<Shape> Shapes =
        from blockSize in Gen.OneOfConst(1, 2, 4, 8, 16)
        from numBlocks in Gen.Int[2, 48]
        from maxSeqs in Gen.Int[1, 8]
        from budget in Gen.Int[1, 80]
        from prefix in Gen.Bool
        from priority in Gen.Bool
        from requests in Gen.Int[1, 12]
        from seed in Gen.Int[0, 1_000_000]
        from abortEvery in Gen.Int[0, 5]
        select new Shape(blockSize, numBlocks, maxSeqs, budget, prefix, priority, requests, seed, abortEvery);

    [Fact]
    public void Random_workloads_keep_every_invariant()
    {
        Shapes.Sample(RunShape, iter: 60, threads: 1);
    }

    private static void RunShape(Shape s)
    {
        var rng = new Random(s.WorkloadSeed);
        var requests = EngineHarness.MixedWorkload(s.Requests, s.WorkloadSeed, maxPrompt: 40, maxTokens: 12)
            .Select(r => r with { Priority = rng.Next(0, 3) })
            .ToList();
        var aborted = s.AbortEvery == 0 ? [] : requests.Where((_, i) => i % s.AbortEvery == 1).Select(r => r.Key).ToHashSet();

        var options = new EngineConfig
        {
            MaxNumSeqs = s.MaxSeqs,
            MaxNumBatchedTokens = s.Budget,
            EnablePrefixCaching = s.PrefixCaching,
            Policy = s.Priority ? SchedulingPolicy.Priority : SchedulingPolicy.Fcfs,
        };
        using var runner = new FakeModelRunner(EngineHarness.Vocab, s.NumBlocks, s.BlockSize);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), options, sink);
        foreach (var r in requests)
        {
            engine.AddRequest(r);
        }

        int steps = 0;
        while (engine.HasWork)
        {
            if (steps == 2)
            {
                foreach (var id in aborted)
                {
                    engine.Abort(id);
                }
            }

            engine.Step();
            steps++;
            Assert.True(steps < 20_000, "the engine did not finish its requests");
            engine.Kv.Pool.CheckConsistency(expectAllFree: false);
            Assert.True(runner.MaxTokensSeen <= s.Budget, $"a step ran {runner.MaxTokensSeen} tokens, budget {s.Budget}");
            Assert.True(runner.MaxSeqsSeen <= s.MaxSeqs, $"a step ran {runner.MaxSeqsSeen} sequences, max {s.MaxSeqs}");
            Assert.True(engine.Metrics.Running <= s.MaxSeqs);
        }

        engine.Kv.Pool.CheckConsistency(expectAllFree: true);
        var outputs = sink.Snapshot();
        var results = EngineHarness.Collect(outputs);
        Assert.Equal(requests.Count, results.Count);
        Assert.All(results.Values, r => Assert.Equal(1, r.FinishedOutputs));

        var reference = EngineHarness.Run(requests.Where(r => !aborted.Contains(r.Key)), new EngineConfig { EnablePrefixCaching = false, MaxNumSeqs = 16 });
        foreach (var r in requests)
        {
            var got = results[r.Key];
            Assert.Equal(got.ConcatenatedDeltas, got.FinalText);
            Assert.Equal(Enumerable.Range(0, got.Tokens.Length), got.Indices);
            if (aborted.Contains(r.Key) && got.Reason == FinishReason.Abort)
            {
                continue;
            }

            if (got.Reason == FinishReason.PromptTooLong)
            {
                Assert.True(r.PromptTokenIds.Count + 1 > (s.NumBlocks - (int)(s.NumBlocks * 0.01)) * s.BlockSize, $"{r.Key} rejected but it fits");
                continue;
            }

            var want = reference.TryGetValue(r.Key, out var w) ? w : EngineHarness.Run([r])[r.Key];
            Assert.True(want.Tokens.Take(got.Tokens.Length).SequenceEqual(got.Tokens), $"{r.Key}: {EngineHarness.Describe(got)} vs {EngineHarness.Describe(want)}");
            bool cacheBound = r.PromptTokenIds.Count + r.Params.MaxTokens > s.NumBlocks * s.BlockSize;
            if (!cacheBound)
            {
                want.AssertSameGeneration(got);
                Assert.Equal(want.Reason, got.Reason);
            }
        }
    }
}
