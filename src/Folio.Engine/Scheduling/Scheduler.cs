using Folio.Engine.Kv;

namespace Folio.Engine.Scheduling;

/// <summary>
/// Continuous batching with one token budget per step (vLLM V1's scheduler): running sequences
/// first, each taking one decode token or its next prefill chunk, then waiting ones in queue order
/// while there are sequence slots, budget and KV blocks above the watermark. A prefill that does not
/// fit the budget is chunked. When a running sequence needs a block and none is free, the newest
/// (FCFS) or lowest-priority (Priority) running sequence is preempted by recompute: its blocks are
/// freed and it goes back to the front of the waiting queue with its tokens kept.
/// </summary>
public sealed class Scheduler
{
    private readonly KvCacheManager _kv;
    private readonly SchedulerOutput _output = new();
    private readonly int[] _hits;

    public Scheduler(KvCacheManager kv, SchedulerConfig options, int maxModelLen)
    {
        _kv = kv;
        Options = options;
        MaxModelLen = maxModelLen;
        MaxBlocksPerSeq = kv.BlocksFor(maxModelLen);
        _hits = new int[MaxBlocksPerSeq];
        Waiting = new List<Sequence>(options.MaxNumSeqs * 4);
        Running = new List<Sequence>(options.MaxNumSeqs);
    }

    public SchedulerConfig Options { get; }
    public int MaxModelLen { get; }
    public int MaxBlocksPerSeq { get; }
    public List<Sequence> Waiting { get; }
    public List<Sequence> Running { get; }
    public long Preemptions { get; private set; }
    public bool HasWork => Waiting.Count > 0 || Running.Count > 0;

    /// <summary>
    /// Tokens a sequence can ever hold: the model's context and the cache without its watermark. When
    /// every layer is windowed, a sequence holds at most <see cref="WindowedBlocksAtMost"/> blocks at
    /// once, so where those fit the whole context does.
    /// </summary>
    public int CapacityTokens
    {
        get
        {
            int usable = _kv.Pool.NumBlocks - _kv.WatermarkBlocks;
            return _kv.AttentionWindow is int window && WindowedBlocksAtMost(window) <= usable
                ? MaxModelLen
                : Math.Min(MaxModelLen, usable * _kv.BlockSize);
        }
    }

    /// <summary>
    /// The most blocks a windowed sequence holds during one step: the window behind the step's first
    /// token and the step's tokens (at most the token budget), one block more where they straddle a
    /// block boundary.
    /// </summary>
    public int WindowedBlocksAtMost(int window) =>
        Math.Min(MaxBlocksPerSeq, _kv.BlocksFor(window - 1 + Options.MaxNumBatchedTokens) + 1);

    public void AddWaiting(Sequence seq)
    {
        seq.Status = SequenceStatus.Waiting;
        if (Options.Policy == SchedulingPolicy.Priority)
        {
            int i = 0;
            while (i < Waiting.Count && !Before(seq, Waiting[i]))
            {
                i++;
            }

            Waiting.Insert(i, seq);
        }
        else
        {
            Waiting.Add(seq);
        }
    }

    /// <summary>Takes a sequence out of whichever queue holds it and frees its blocks.</summary>
    public void Remove(Sequence seq)
    {
        if (seq.Status == SequenceStatus.Running)
        {
            Running.Remove(seq);
        }
        else if (seq.Status == SequenceStatus.Waiting)
        {
            Waiting.Remove(seq);
        }

        _kv.Free(seq.Table);
        seq.Status = SequenceStatus.Finished;
    }

    public SchedulerOutput Schedule()
    {
        _output.Clear();
        int budget = Options.MaxNumBatchedTokens;
        bool batchWasEmpty = Running.Count == 0;

        int i = 0;
        while (i < Running.Count && budget > 0)
        {
            var seq = Running[i];
            int numNew = Math.Min(seq.NumTokens - seq.NumComputed, budget);
            if (numNew <= 0)
            {
                i++;
                continue;
            }

            bool scheduled = true;
            while (!_kv.TryAllocate(seq.Table, seq.NumComputed + numNew, seq.NumComputed, [], 0, reserveBlocks: 0))
            {
                if (Running.Count == 1)
                {
                    // It holds every block there is and needs one more: it can only end.
                    Running.RemoveAt(i);
                    _output.OutOfCache.Add(seq);
                    scheduled = false;
                    break;
                }

                var victim = PickVictim();
                int victimIndex = Running.IndexOf(victim);
                budget += Preempt(victim);
                if (victim == seq)
                {
                    scheduled = false;
                    break;
                }

                if (victimIndex < i)
                {
                    i--;
                }
            }

            if (!scheduled)
            {
                continue;
            }

            _output.Scheduled.Add(new ScheduledSequence(seq, numNew));
            budget -= numNew;
            i++;
        }

        bool admit = _output.NumPreempted == 0 && (!Options.StaticBatching || batchWasEmpty);
        int w = 0;

        // Static batching admits its whole batch at once; prefills beyond this step's budget run in later steps.
        while (admit && w < Waiting.Count && (budget > 0 || Options.StaticBatching) && Running.Count < Options.MaxNumSeqs)
        {
            var seq = Waiting[w];
            if (seq.NumTokens + 1 > CapacityTokens || (Options.StaticBatching && _kv.BlocksFor(MaxModelLen) > _kv.Pool.NumBlocks - _kv.WatermarkBlocks))
            {
                Waiting.RemoveAt(w);
                seq.Status = SequenceStatus.Finished;
                _output.PromptTooLong.Add(seq);
                continue;
            }

            ulong lastHash = 0;
            int hitBlocks = seq.NumComputed == 0 ? _kv.FindCachedPrefix(seq.Tokens, _hits, out lastHash) : 0;
            if (seq.NumComputed == 0 && _kv.PrefixCachingEnabled && PrefixBeingComputed(seq, hitBlocks))
            {
                // A running sequence is computing the next blocks of this prompt right now: wait a
                // step and take them from the cache instead of computing them a second time.
                w++;
                continue;
            }

            int computed = hitBlocks * _kv.BlockSize;
            int numNew = Math.Min(seq.NumTokens - computed, budget);
            int reserveTokens = Options.StaticBatching ? MaxModelLen : computed + numNew;
            if (!_kv.TryAllocate(seq.Table, reserveTokens, computed, _hits.AsSpan(0, hitBlocks), lastHash, _kv.WatermarkBlocks))
            {
                break;
            }

            _kv.RecordPrefixQuery(seq.NumTokens, computed);
            seq.NumComputed = computed;
            if (seq.CachedTokens < 0)
            {
                seq.CachedTokens = Math.Min(computed, seq.NumPromptTokens);
            }

            Waiting.RemoveAt(w);
            seq.Status = SequenceStatus.Running;
            Running.Add(seq);
            if (numNew > 0)
            {
                _output.Scheduled.Add(new ScheduledSequence(seq, numNew));
                budget -= numNew;
            }
        }

        _output.NumScheduledTokens = Options.MaxNumBatchedTokens - budget;
        return _output;
    }

    /// <summary>
    /// Whether a running sequence holds the same tokens as <paramref name="seq"/> through the block
    /// after its <paramref name="hitBlocks"/> cached ones and has not computed that block yet (it
    /// will register it in the prefix cache within a step or two).
    /// </summary>
    private bool PrefixBeingComputed(Sequence seq, int hitBlocks)
    {
        int bs = _kv.BlockSize;
        int blockEnd = (hitBlocks + 1) * bs;

        // The last token is always computed, so only blocks before it can come from the cache.
        if (blockEnd > seq.NumTokens - 1)
        {
            return false;
        }

        var next = seq.Tokens.Slice(hitBlocks * bs, bs);
        foreach (var r in Running)
        {
            if (r.NumComputed < blockEnd && r.NumTokens >= blockEnd
                && r.Tokens.Slice(hitBlocks * bs, bs).SequenceEqual(next)
                && r.Tokens[..(hitBlocks * bs)].SequenceEqual(seq.Tokens[..(hitBlocks * bs)]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Frees a running sequence's blocks and requeues it at the front; returns the budget it had been given this step.</summary>
    private int Preempt(Sequence victim)
    {
        int refund = 0;
        for (int k = 0; k < _output.Scheduled.Count; k++)
        {
            if (_output.Scheduled[k].Sequence == victim)
            {
                refund = _output.Scheduled[k].NumNewTokens;
                _output.Scheduled.RemoveAt(k);
                break;
            }
        }

        Running.Remove(victim);
        _kv.Free(victim.Table);
        victim.NumComputed = 0;
        victim.Preemptions++;
        Preemptions++;
        _output.NumPreempted++;
        if (Options.Policy == SchedulingPolicy.Priority)
        {
            AddWaiting(victim);
        }
        else
        {
            victim.Status = SequenceStatus.Waiting;
            Waiting.Insert(0, victim);
        }

        return refund;
    }

    private Sequence PickVictim()
    {
        if (Options.Policy == SchedulingPolicy.Fcfs)
        {
            return Running[^1];
        }

        var victim = Running[0];
        foreach (var s in Running)
        {
            if (Before(victim, s))
            {
                victim = s;
            }
        }

        return victim;
    }

    /// <summary>Whether <paramref name="a"/> is served before <paramref name="b"/>: lower priority value, then earlier arrival.</summary>
    private static bool Before(Sequence a, Sequence b) =>
        a.Priority != b.Priority ? a.Priority < b.Priority : a.ArrivalOrder < b.ArrivalOrder;
}
