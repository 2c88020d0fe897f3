using Folio.Contracts;
using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>The outcome of taking a request: whether its stream had already ended, where to resume, whether it was cancelled.</summary>
internal readonly record struct TakeResult(bool AlreadyFinished, int NextIndex, bool Cancelled);

/// <summary>What <see cref="StreamScripts.Restore"/> did: another delivery owns the request, the state was rebuilt from index 0, or it was there after all.</summary>
internal enum RestoreOutcome
{
    OwnedByAnother = 0,
    Restored = 1,
    StillThere = 2,
}

/// <summary>What the state hash says about earlier attempts: charged takes, all starts, proven, finished.</summary>
internal readonly record struct StartHistory(int Takes, int Starts, bool Proven, bool Finished);

/// <summary>
/// Reads and writes the output streams (and their state hashes) through the scripts of
/// <see cref="StreamScripts"/>. Every method throws what StackExchange.Redis throws; callers decide
/// (through <c>RedisGate</c>) whether a failure is worth waiting out.
/// </summary>
/// <param name="batchTtlSeconds">The TTL of a request with a batch_id (Folio:Redis:BatchTtlSeconds); null: the stream TTL.</param>
internal sealed class StreamStore(IConnectionMultiplexer redis, string prefix, int ttlSeconds, int? batchTtlSeconds = null)
{
    private IDatabase Db => redis.GetDatabase();

    public int TtlSeconds => ttlSeconds;

    /// <summary>Counts finished batch requests towards their batch hash.</summary>
    public BatchCounter Batches { get; } = new(redis, prefix, batchTtlSeconds ?? ttlSeconds);

    /// <summary>How long this request's stream and state live after their last write: a batch's are collected later, so they live longer.</summary>
    public int TtlFor(GenerationRequest? request) => request?.BatchId is null ? ttlSeconds : batchTtlSeconds ?? ttlSeconds;

    public StreamKeys Keys(string requestId) => StreamKeys.For(prefix, requestId);

    /// <summary>Folio:Redis:WaitReplicas (null: off): WAIT after each flush and error entry.</summary>
    public ReplicaWait? ReplicaWait { get; init; }

    /// <summary>
    /// Whether to read the state and cancel names of workers before version 2 as a fallback (a rolling
    /// upgrade): only on a Redis that is not a cluster. On a cluster those names were never usable (a
    /// script over them and the stream is CROSSSLOT), so no stream there was ever written under them.
    /// Asked per take, not per token: the server type is known once a server answered.
    /// </summary>
    private bool LegacyNames
    {
        get
        {
            foreach (var server in redis.GetServers())
            {
                if (server.ServerType == ServerType.Cluster)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <param name="countAsStart">False when the same worker re-attaches a delivery it lost: not a new start.</param>
    /// <param name="ttl">The request's TTL (<see cref="TtlFor"/>); null: the stream TTL.</param>
    public async Task<TakeResult> TakeAsync(StreamKeys keys, string owner, string worker, int attempt, int promptTokens, bool countAsStart, int? ttl = null)
    {
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(StreamScripts.Take, keys.TakeKeysFor(LegacyNames), [owner, worker, attempt, promptTokens, ttl ?? ttlSeconds, countAsStart ? 1 : 0]).ConfigureAwait(false))!;
        return (string?)r[0] == "finished" ? new TakeResult(true, 0, false) : new TakeResult(false, (int)r[1], (long)r[2] != 0);
    }

    /// <summary>The request's earlier starts and whether its stream has ended.</summary>
    public async Task<StartHistory> PeekAsync(StreamKeys keys)
    {
        RedisValue[] fields = ["takes", "starts", "proven", "final"];
        var v = await Db.HashGetAsync(keys.State, fields).ConfigureAwait(false);
        if (v.All(x => x.IsNull) && LegacyNames)
        {
            // A stream an older worker started (rolling upgrade): its counters are under the old name until a take copies them.
            v = await Db.HashGetAsync(keys.LegacyState, fields).ConfigureAwait(false);
        }

        return new StartHistory(v[0].IsNull ? 0 : (int)v[0], v[1].IsNull ? 0 : (int)v[1], !v[2].IsNull, !v[3].IsNull);
    }

    /// <summary>Reads the token entries below <paramref name="nextIndex"/>; throws if they are not 0..next-1 in order.</summary>
    public async Task<StreamToken[]> ReadResumeAsync(StreamKeys keys, int nextIndex)
    {
        var tokens = new StreamToken[nextIndex];
        int expected = 0;
        RedisValue from = "-";
        while (expected < nextIndex)
        {
            var entries = await Db.StreamRangeAsync(keys.Stream, from, "+", count: 512).ConfigureAwait(false);
            if (entries.Length == 0)
            {
                break;
            }

            foreach (var e in entries)
            {
                if ((string?)e[StreamFields.Type] != EntryTypes.Token)
                {
                    continue;
                }

                int index = (int)e[StreamFields.Index];
                if (index >= nextIndex || index < expected)
                {
                    // Below expected: an entry rewritten after a repair (a reader skips it the same way).
                    continue;
                }

                if (index != expected)
                {
                    throw new InvalidOperationException($"stream {keys.Stream} has token index {index} where {expected} was expected");
                }

                var logprob = e[StreamFields.Logprob];
                var top = e[StreamFields.TopLogprobs];
                tokens[expected++] = new StreamToken((int)e[StreamFields.TokenId], (string?)e[StreamFields.Text] ?? string.Empty, logprob.IsNullOrEmpty ? null : (float)(double)logprob, top.IsNullOrEmpty ? null : (string?)top);
            }

            // Continue after the last id read (exclusive range start).
            from = "(" + entries[^1].Id;
        }

        if (expected != nextIndex)
        {
            throw new InvalidOperationException($"stream {keys.Stream} holds {expected} token entries; its state says {nextIndex}");
        }

        return tokens;
    }

    /// <summary>An error entry for a request that was never taken; false when its stream had already ended.</summary>
    public async Task<bool> FailAsync(StreamKeys keys, string code, string message, int? ttl = null)
    {
        bool written = (long)(await Db.ScriptEvaluateAsync(StreamScripts.Fail, keys.FailKeysFor(LegacyNames), [ttl ?? ttlSeconds, code, message]).ConfigureAwait(false)) == 1;
        if (ReplicaWait is { } wait)
        {
            // Acknowledged next: the error entry must survive a failover (a retry finds it and returns false).
            await wait.WaitOneAsync(keys.Stream).ConfigureAwait(false);
        }

        return written;
    }

    /// <summary>
    /// All appends of one engine step in one pipelined round trip. A failure of Redis itself (the
    /// first one seen) is thrown: the caller retries the whole flush. A failure that belongs to one
    /// request's keys (a key of the wrong type) is that command's <see cref="AppendStatus.Failed"/>.
    /// </summary>
    public async Task<AppendOutcome[]> AppendBatchAsync(IReadOnlyList<AppendCommand> commands, Func<Exception, bool> isRedisFailure)
    {
        var batch = Db.CreateBatch();
        var tasks = new Task<RedisResult>[commands.Count];
        for (int i = 0; i < commands.Count; i++)
        {
            var c = commands[i];
            tasks[i] = batch.ScriptEvaluateAsync(StreamScripts.Append, c.Keys.StreamAndState, c.Args);
        }

        batch.Execute();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Inspected per task below.
        }

        var results = new AppendOutcome[commands.Count];
        for (int i = 0; i < tasks.Length; i++)
        {
            var task = tasks[i];
            if (task.IsFaulted)
            {
                var e = task.Exception!.InnerException ?? task.Exception;
                if (isRedisFailure(e))
                {
                    throw e;
                }

                results[i] = new AppendOutcome(AppendStatus.Failed, 0) { Error = e.Message };
                continue;
            }

            if (task.IsCanceled)
            {
                throw new TaskCanceledException(task);
            }

            var r = (RedisResult[])task.Result!;
            results[i] = new AppendOutcome((AppendStatus)(int)r[0], (int)r[1]);
        }

        return results;
    }

    /// <summary>Folio:Redis:WaitReplicas: after a flush, until enough replicas hold it (see <see cref="Output.ReplicaWait"/>); nothing when off.</summary>
    public Task WaitForReplicasAsync(IReadOnlyList<AppendCommand> written) => ReplicaWait is { } wait && written.Count > 0 ? wait.WaitAsync(written) : Task.CompletedTask;

    /// <summary>Makes this delivery the owner of a request whose state Redis lost, from index 0; false when another owns it.</summary>
    /// <remarks>
    /// <see cref="RestoreOutcome.StillThere"/>: the state was there after all (the append that missed it
    /// was answered by a node that no longer owns the slot); nothing was reset, continue from Next.
    /// </remarks>
    public async Task<(RestoreOutcome Outcome, int Next)> RestoreAsync(StreamKeys keys, string owner, string worker, int attempt, int promptTokens, int? ttl = null)
    {
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(StreamScripts.Restore, keys.StreamAndState, [owner, worker, attempt, promptTokens, ttl ?? ttlSeconds]).ConfigureAwait(false))!;
        return ((RestoreOutcome)(int)r[0], (int)r[1]);
    }

    /// <summary>Records that the request ran alone past its probation.</summary>
    public Task ProveAsync(StreamKeys keys, string owner) => Db.ScriptEvaluateAsync(StreamScripts.Prove, keys.StateOnly, [owner]);

    /// <summary>Records that this live worker lost the request's delivery: the next take is not charged as a crash.</summary>
    public Task DetachAsync(StreamKeys keys, string owner) => Db.ScriptEvaluateAsync(StreamScripts.Detach, keys.StateOnly, [owner]);

    /// <summary>Remembers a cancel for a request no worker holds yet; whoever takes it later finishes it with abort.</summary>
    public Task MarkCancelledAsync(StreamKeys keys) => Db.StringSetAsync(keys.Cancelled, "1", TimeSpan.FromSeconds(ttlSeconds));

    /// <summary>One small scripted write on <paramref name="worker"/>'s own key: whether Redis takes our writes (see <see cref="StreamScripts.Probe"/>).</summary>
    public Task ProbeWriteAsync(string worker) => Db.ScriptEvaluateAsync(StreamScripts.Probe, [(RedisKey)(prefix + "~probe:" + worker)]);

    /// <summary>A round trip that needs no key: whether Redis answers at all (and accepts our credentials).</summary>
    public Task PingAsync() => Db.PingAsync();
}
