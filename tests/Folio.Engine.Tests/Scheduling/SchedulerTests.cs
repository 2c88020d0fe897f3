using Folio.Engine.Core;
using Folio.Engine.Kv;
using Folio.Engine.Sampling;
using Folio.Engine.Scheduling;
using Folio.Engine;
using Folio.Testing;
using Folio.Text.Detokenization;

namespace Folio.Engine.Tests.Scheduling;

/// <summary>The scheduler on its own: budgets, admission, watermark, preemption order, prefix hits.</summary>
public sealed class SchedulerTests
{
    private static long _next;

    private static (Scheduler S, KvCacheManager Kv) Make(int blocks, int blockSize, EngineConfig options, double watermark = 0)
    {
        var kv = new KvCacheManager(new KvBlockPool(blocks, blockSize), options.EnablePrefixCaching, (_, _) => { }, watermark);
        return (new Scheduler(kv, options.Scheduler, 1024), kv);
    }

    /// <summary>A sequence; prompts differ unless <paramref name="firstToken"/> is given.</summary>
    private static Sequence Seq(int promptLength, int priority = 0, int? firstToken = null)
    {
        long id = Interlocked.Increment(ref _next);
        int[] prompt = [.. Enumerable.Range(firstToken ?? (int)(id * 10_000), promptLength)];
        return new Sequence(new SeqId(id), new RequestKey(id), prompt, promptLength + 64, 1024, new SamplingParams(), 1, priority, id, 0, new IncrementalDetokenizer(new FakeTokenizer(), [], false));
    }

    /// <summary>Plays the engine's part after a step: tokens computed, one sampled token appended.</summary>
    private static void Complete(SchedulerOutput plan, KvCacheManager kv)
    {
        foreach (var (seq, n) in plan.Scheduled)
        {
            seq.NumComputed += n;
            kv.CommitComputed(seq.Table, seq.Tokens, seq.NumComputed);
            if (seq.NumComputed == seq.NumTokens)
            {
                seq.Append(5);
            }
        }
    }

    [Fact]
    public void Token_budget_and_sequence_limit_are_never_exceeded()
    {
        var (s, kv) = Make(100, 4, new EngineConfig { MaxNumSeqs = 3, MaxNumBatchedTokens = 10 });
        for (int i = 0; i < 5; i++)
        {
            s.AddWaiting(Seq(7));
        }

        for (int step = 0; step < 10; step++)
        {
            var plan = s.Schedule();
            Assert.True(plan.NumScheduledTokens <= 10);
            Assert.Equal(plan.Scheduled.Sum(x => x.NumNewTokens), plan.NumScheduledTokens);
            Assert.True(s.Running.Count <= 3);
            Complete(plan, kv);
        }
    }

    [Fact]
    public void Running_sequences_are_scheduled_before_waiting_ones()
    {
        var (s, kv) = Make(100, 4, new EngineConfig { MaxNumBatchedTokens = 8 });
        var first = Seq(3);
        s.AddWaiting(first);
        Complete(s.Schedule(), kv);
        var second = Seq(20);
        s.AddWaiting(second);
        var plan = s.Schedule();
        Assert.Equal(first, plan.Scheduled[0].Sequence);
        Assert.Equal(1, plan.Scheduled[0].NumNewTokens);
        Assert.Equal(second, plan.Scheduled[1].Sequence);
        Assert.Equal(7, plan.Scheduled[1].NumNewTokens);
    }

    [Fact]
    public void Admission_stops_at_the_watermark()
    {
        // 100 blocks, 10% watermark: a 90-block prompt fits, a second one does not.
        var (s, _) = Make(100, 1, new EngineConfig { MaxNumBatchedTokens = 1000 }, watermark: 0.10);
        var a = Seq(89);
        var b = Seq(5);
        s.AddWaiting(a);
        s.AddWaiting(b);
        var plan = s.Schedule();
        Assert.Single(plan.Scheduled);
        Assert.Equal(a, plan.Scheduled[0].Sequence);
        Assert.Single(s.Waiting);
    }

    [Fact]
    public void Priority_policy_preempts_the_lowest_priority_running_sequence()
    {
        var (s, kv) = Make(6, 2, new EngineConfig { MaxNumBatchedTokens = 100, Policy = SchedulingPolicy.Priority });
        var urgent = Seq(4, priority: 0);
        var lazy = Seq(4, priority: 9);
        var middle = Seq(4, priority: 5);
        s.AddWaiting(lazy);
        s.AddWaiting(urgent);
        s.AddWaiting(middle);
        Complete(s.Schedule(), kv);
        Assert.Equal(3, s.Running.Count);

        // All three hold 4 computed tokens in 2 full blocks each: the pool is full, the 5th token needs a block.
        var plan = s.Schedule();
        Assert.Equal(1, plan.NumPreempted);
        Assert.Equal([lazy], s.Waiting);
        Assert.Equal(0, lazy.NumComputed);
        Assert.Equal(0, lazy.Table.Count);
        Assert.Equal([urgent, middle], plan.Scheduled.Select(x => x.Sequence));
    }

    [Fact]
    public void Fcfs_policy_preempts_the_newest_and_requeues_it_first()
    {
        var (s, kv) = Make(6, 2, new EngineConfig { MaxNumBatchedTokens = 100 });
        var a = Seq(4);
        var b = Seq(4);
        var c = Seq(4);
        var d = Seq(1);
        foreach (var x in new[] { a, b, c })
        {
            s.AddWaiting(x);
        }

        Complete(s.Schedule(), kv);
        s.AddWaiting(d);
        var plan = s.Schedule();
        Assert.Equal(1, plan.NumPreempted);
        Assert.Equal([c, d], s.Waiting);
        Assert.Equal(1, c.Preemptions);
    }

    [Fact]
    public void Prefix_cache_hits_shorten_the_prefill()
    {
        var (s, kv) = Make(64, 4, new EngineConfig { MaxNumBatchedTokens = 100 });
        var a = Seq(13, firstToken: 2);
        s.AddWaiting(a);
        Complete(s.Schedule(), kv);
        var b = Seq(13, firstToken: 2);
        s.AddWaiting(b);
        var plan = s.Schedule();
        var scheduledB = plan.Scheduled.Single(x => x.Sequence == b);

        // 12 of 13 tokens are in 3 full cached blocks; the last token is always recomputed.
        Assert.Equal(1, scheduledB.NumNewTokens);
        Assert.Equal(12, b.CachedTokens);
        Assert.Equal(a.Table.Blocks[..3].ToArray(), b.Table.Blocks[..3].ToArray());
    }

    [Fact]
    public void A_waiting_prompt_whose_prefix_is_being_computed_waits_for_the_cache_instead_of_recomputing()
    {
        var (s, kv) = Make(64, 4, new EngineConfig { MaxNumBatchedTokens = 30 });
        var first = Seq(21, firstToken: 2);
        var twin = Seq(21, firstToken: 2);
        var other = Seq(5);
        s.AddWaiting(first);
        s.AddWaiting(twin);
        s.AddWaiting(other);

        // first is admitted and will compute the shared blocks this step: twin waits, other is admitted.
        var plan = s.Schedule();
        Assert.DoesNotContain(plan.Scheduled, x => x.Sequence == twin);
        Assert.Contains(plan.Scheduled, x => x.Sequence == other);
        Assert.Equal([twin], s.Waiting);
        Complete(plan, kv);

        // Once first is through, twin finds 5 cached blocks (20 tokens) and computes only the last.
        var after = s.Schedule();
        Assert.Contains(after.Scheduled, x => x.Sequence == twin && x.NumNewTokens == 1);
        Assert.Equal(20, twin.CachedTokens);
    }

    [Fact]
    public void A_prompt_that_can_never_fit_is_reported_not_queued_forever()
    {
        var (s, _) = Make(4, 4, new EngineConfig());
        var big = Seq(16);
        s.AddWaiting(big);
        var plan = s.Schedule();
        Assert.Equal([big], plan.PromptTooLong);
        Assert.Empty(s.Waiting);
    }
}
