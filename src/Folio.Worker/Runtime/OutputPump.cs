using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Engine.Sampling;
using Folio.Worker.Engine;
using Folio.Worker.Metrics;
using Folio.Worker.Output;
using Folio.Worker.Telemetry;
using Microsoft.Extensions.Logging;

namespace Folio.Worker.Runtime;

/// <summary>
/// Output: every engine step's tokens for every sequence that produced any go to Redis in one
/// pipelined round trip; a request is acknowledged once its terminal entry is written. When Redis
/// is away the output waits in memory and the write is retried: the scripts make a retry after a
/// lost reply harmless. When Redis holds less than this worker wrote (it lost data, or a replica
/// without the last writes was promoted), the stream is rewritten from the tokens still in memory.
/// Work that must not race with a flush (re-attaching a redelivered request) runs on this loop too.
/// </summary>
internal sealed class OutputPump(
    IInferenceEngine engine,
    InFlightLedger ledger,
    StreamStore store,
    RedisGate redis,
    BrokerSession broker,
    WorkerMetrics metrics,
    ILogger log,
    string workerName,
    TimeSpan orphanGrace)
{
    private readonly Channel<(RequestKey Key, RequestFinish Finish)> _local = Channel.CreateUnbounded<(RequestKey, RequestFinish)>();
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>();
    private readonly List<InFlightRequest> _dirty = [];
    private readonly HashSet<RequestKey> _dirtyKeys = [];
    private readonly List<InFlightRequest> _targets = [];
    private readonly List<AppendCommand> _commands = [];
    private long _lastOrphanScan;

    /// <summary>When the current flush's round trip started and ended (Stopwatch ticks), for the requests' output spans.</summary>
    private long _flushStartedAt;
    private long _flushEndedAt;

    /// <summary>Called after every round (intake resumes consuming when the engine has room again).</summary>
    public Func<Task>? AfterRound { get; set; }

    /// <summary>A finish decided by the worker itself for a request the engine never ran (cancelled before start, nothing left).</summary>
    public void FinishLocally(RequestKey key, RequestFinish finish) => _local.Writer.TryWrite((key, finish));

    /// <summary>Runs <paramref name="work"/> on the pump's loop, between flushes, and returns its result.</summary>
    public Task<T> RunOnPumpAsync<T>(Func<Task<T>> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Writer.TryWrite(async () =>
        {
            try
            {
                done.TrySetResult(await work().ConfigureAwait(false));
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        });
        return done.Task;
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var steps = engine.Steps;
        bool retryPending = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!steps.TryPeek(out _) && !_local.Reader.TryPeek(out _) && !_work.Reader.TryPeek(out _))
                {
                    var wait = Task.WhenAny(steps.WaitToReadAsync(ct).AsTask(), _local.Reader.WaitToReadAsync(ct).AsTask(), _work.Reader.WaitToReadAsync(ct).AsTask());
                    // While a write is waiting for Redis, wake up to retry it even if the engine is quiet.
                    var timeout = Task.Delay(retryPending ? RedisGate.Backoff(3) : TimeSpan.FromSeconds(1), ct);
                    await Task.WhenAny(wait, timeout).ConfigureAwait(false);
                }

                long now = Stopwatch.GetTimestamp();
                while (steps.TryRead(out var step))
                {
                    foreach (var o in step)
                    {
                        Merge(o, now);
                    }
                }

                while (_local.Reader.TryRead(out var f))
                {
                    if (ledger.TryGet(f.Key, out var r))
                    {
                        r.FinishWithoutEngine(f.Finish);
                        MarkDirty(r);
                    }
                }

                while (_work.Reader.TryRead(out var work))
                {
                    await work().ConfigureAwait(false);
                }

                retryPending = !await FlushAsync(ct).ConfigureAwait(false);
                await redis.ProbeWhileFailingAsync(() => store.ProbeWriteAsync(workerName)).ConfigureAwait(false);
                DropExpiredOrphans(now);
                if (AfterRound is { } after)
                {
                    await after().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.PumpFailed(log, e);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private void Merge(in RequestOutput o, long now)
    {
        if (!ledger.TryGet(o.Key, out var r))
        {
            return; // Handed on (fenced, orphan dropped) while the engine was still running it.
        }

        r.Merge(o, o.Logprobs is { Top.Length: > 0 } lp ? TopLogprobsJson(lp) : null, now);
        MarkDirty(r);
    }

    private void MarkDirty(InFlightRequest r)
    {
        if (_dirtyKeys.Add(r.Key))
        {
            _dirty.Add(r);
        }
    }

    /// <summary>Writes everything pending in one round trip; false when Redis could not take it (retry later).</summary>
    private async Task<bool> FlushAsync(CancellationToken ct)
    {
        _targets.Clear();
        _commands.Clear();
        foreach (var r in _dirty)
        {
            if (r.HasPending && ledger.Contains(r.Key))
            {
                _targets.Add(r);
                _commands.Add(r.BuildAppend(store.TtlFor(r.Request), includeTerminal: true));
            }
        }

        if (_targets.Count == 0)
        {
            ClearDirty();
            return true;
        }

        AppendOutcome[] outcomes;
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            outcomes = await store.AppendBatchAsync(_commands, IsRedisFailure).ConfigureAwait(false);
            // Folio:Redis:WaitReplicas: nothing below (acks included) runs on writes only the primary holds.
            await store.WaitForReplicasAsync(_commands).ConfigureAwait(false);
            redis.ReportSuccess();
        }
        catch (Exception e) when (RedisGate.Classify(e) != RedisFailure.None)
        {
            metrics.RedisWriteFailed();
            redis.ReportFailure(e);
            return false; // Everything stays dirty and pending; the next round retries.
        }

        _flushStartedAt = t0;
        _flushEndedAt = Stopwatch.GetTimestamp();
        metrics.RedisWrite.Observe(Stopwatch.GetElapsedTime(t0, _flushEndedAt).TotalSeconds);
        ClearDirty();
        for (int i = 0; i < _targets.Count; i++)
        {
            await HandleOutcomeAsync(_targets[i], _commands[i], outcomes[i], ct).ConfigureAwait(false);
        }

        return _dirty.Count == 0;
    }

    private void ClearDirty()
    {
        _dirty.Clear();
        _dirtyKeys.Clear();
    }

    private async Task HandleOutcomeAsync(InFlightRequest r, AppendCommand written, AppendOutcome outcome, CancellationToken ct)
    {
        if (!ledger.Contains(r.Key))
        {
            return; // Handed on while the write was in flight.
        }

        switch (outcome.Status)
        {
            case AppendStatus.Written:
                int before = r.WrittenNext;
                r.Committed(written, outcome.Next);
                metrics.GenerationTokens(Math.Max(0, r.WrittenNext - before));
                r.Trace?.Flushed(_flushStartedAt, _flushEndedAt, Math.Max(0, r.WrittenNext - before));
                if (r.ProvedOnProbation)
                {
                    r.ProofRecorded();
                    await RecordProofAsync(r).ConfigureAwait(false);
                }

                if (written.HasTerminal)
                {
                    await CompleteAsync(r, ct).ConfigureAwait(false);
                }
                else if (r.HasPending)
                {
                    MarkDirty(r);
                }

                break;

            case AppendStatus.Fenced:
                // Another delivery of the same request took over (a duplicate publish, or the redelivery
                // of a delivery this worker lost); it writes the rest.
                HandOn(r, "fenced");
                Log.Fenced(log, r.RequestId);
                if (!r.DeliveryLost)
                {
                    await broker.AckAsync(r.Delivery).ConfigureAwait(false);
                }

                break;

            case AppendStatus.Gap when outcome.Next < r.WrittenNext:
                // Redis holds fewer tokens than this worker wrote: it lost writes (a failover to a
                // replica that had not received them). Rewrite them from memory.
                Log.StreamBehind(log, r.RequestId, outcome.Next, r.WrittenNext);
                metrics.StreamRepaired();
                r.Trace?.Repaired();
                r.Rewind(outcome.Next);
                MarkDirty(r);
                break;

            case AppendStatus.Lost:
                // The state is gone (Redis restarted without persistence, or the stream expired):
                // own it again from index 0 and rewrite everything this worker holds.
                var (restore, next) = await redis.RunAsync(() => store.RestoreAsync(r.Keys, r.Owner, workerName, r.Attempt, r.PromptTokens, store.TtlFor(r.Request)), ct).ConfigureAwait(false);
                if (restore == RestoreOutcome.Restored)
                {
                    Log.StreamLost(log, r.RequestId, r.WrittenNext);
                    metrics.StreamRepaired();
                    r.Trace?.Repaired();
                    r.Rewind(0);
                    MarkDirty(r);
                }
                else if (restore == RestoreOutcome.StillThere)
                {
                    // The state was there after all: the append that missed it reached a node that no
                    // longer owns the slot (a restarted primary before it learned of the failover).
                    // Continue from where the stream really ends; never rewrite it from 0.
                    if (next < r.WrittenNext)
                    {
                        Log.StreamBehind(log, r.RequestId, next, r.WrittenNext);
                        metrics.StreamRepaired();
                        r.Trace?.Repaired();
                    }

                    r.Rewind(Math.Min(next, r.WrittenNext));
                    MarkDirty(r);
                }
                else
                {
                    HandOn(r, "fenced");
                    Log.Fenced(log, r.RequestId);
                }

                break;

            case AppendStatus.Failed:
                // This request's keys refuse writes (someone put another type under its stream key):
                // requeue it once; intake cannot write its stream either and moves it to the error queue.
                HandOn(r, "requeued");
                Log.StreamKeyUnusable(log, r.RequestId, outcome.Error ?? "no error text");
                if (!r.DeliveryLost)
                {
                    await broker.RequeueAsync(r.Delivery).ConfigureAwait(false);
                }

                break;

            default:
                // A gap ahead of what this worker wrote: someone else wrote this stream. Let a clean take sort it out.
                HandOn(r, "requeued");
                Log.IndexGap(log, r.RequestId, written.FirstIndex);
                if (!r.DeliveryLost)
                {
                    await broker.RequeueAsync(r.Delivery).ConfigureAwait(false);
                }

                break;
        }
    }

    /// <summary>Stops the request here: out of the ledger, out of the engine, its suspect slot released, its trace ended with <paramref name="outcome"/>.</summary>
    private void HandOn(InFlightRequest r, string outcome)
    {
        ledger.TryRemove(r.Key, out _);
        r.EndProbation();
        engine.Abort(r.Key);
        EndTrace(r, outcome);
    }

    private static void EndTrace(InFlightRequest r, string outcome)
    {
        if (r.Trace is { } trace)
        {
            trace.Outcome(outcome);
            trace.End(r.Times);
        }
    }

    private async Task CompleteAsync(InFlightRequest r, CancellationToken ct)
    {
        ledger.TryRemove(r.Key, out _);
        r.EndProbation();
        var f = r.Finish!;
        if (r.Request.BatchId is { } batch)
        {
            // After the terminal entry and before the ack: a crash in between leaves the message
            // unacknowledged, and its redelivery counts it (EnsureCountedAsync) without running it.
            await redis.RunAsync(() => store.Batches.CountAsync(batch, r.RequestId, f.ErrorCode is not null), ct).ConfigureAwait(false);
        }

        if (f.ErrorCode is { } code)
        {
            metrics.Error(code);
            Log.FinishedWithError(log, r.RequestId, code);
            r.Trace?.Outcome("error_entry", code);
        }
        else
        {
            metrics.Finished(f.FinishReason);
            r.Trace?.Finished(f.FinishReason);
            if (r.FirstTokenAt != 0)
            {
                metrics.TimeToFirstToken.Observe(Stopwatch.GetElapsedTime(r.ReceivedAt, r.FirstTokenAt).TotalSeconds);
                if (r.TokensThisAttempt > 1)
                {
                    metrics.TimePerOutputToken.Observe(Stopwatch.GetElapsedTime(r.FirstTokenAt, r.LastTokenAt).TotalSeconds / (r.TokensThisAttempt - 1));
                }
            }

            metrics.E2eLatency.Observe(Stopwatch.GetElapsedTime(r.ReceivedAt).TotalSeconds);
            Log.Finished(log, r.RequestId, f.FinishReason, r.WrittenNext);
        }

        // A delivery lost with its channel was requeued by the broker: the redelivery finds the
        // stream finished and is acknowledged without work.
        if (!r.DeliveryLost)
        {
            var ack = r.Trace?.StartAck();
            try
            {
                await broker.AckAsync(r.Delivery).ConfigureAwait(false);
            }
            finally
            {
                WorkerTracing.StopDetached(ack);
            }
        }

        r.Trace?.End(r.Times);
    }

    /// <summary>The request ran alone past its probation: later crashes are not charged to it (one try; losing it only costs fairness).</summary>
    private async Task RecordProofAsync(InFlightRequest r)
    {
        try
        {
            await store.ProveAsync(r.Keys, r.Owner).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisGate.Classify(e) != RedisFailure.None)
        {
            redis.ReportFailure(e);
        }
    }

    /// <summary>Requests whose delivery was lost and never came back to this worker: stop running them.</summary>
    private void DropExpiredOrphans(long now)
    {
        if (Stopwatch.GetElapsedTime(_lastOrphanScan, now) < TimeSpan.FromSeconds(1))
        {
            return;
        }

        _lastOrphanScan = now;
        foreach (var r in ledger.All)
        {
            if (r.DeliveryLost && Stopwatch.GetElapsedTime(r.DeliveryLostAt, now) > orphanGrace)
            {
                HandOn(r, "orphan_dropped");
                Log.OrphanDropped(log, r.RequestId, (int)orphanGrace.TotalSeconds);
            }
        }
    }

    /// <summary>
    /// Takes a redelivered request back for the entry this worker still runs: a new owner token and
    /// delivery, no new start counted, no recompute. False when it cannot (the entry ended, or the
    /// stream moved on elsewhere); the caller then starts it the ordinary way.
    /// </summary>
    public Task<bool> ReattachAsync(InFlightRequest orphan, DeliveryHandle delivery, int attempt, CancellationToken ct) => RunOnPumpAsync(async () =>
    {
        if (!orphan.DeliveryLost || !ledger.Contains(orphan.Key))
        {
            return false;
        }

        string owner = $"{workerName}/{orphan.Key}/{Guid.NewGuid():N}";
        var take = await redis.RunAsync(() => store.TakeAsync(orphan.Keys, owner, workerName, attempt, orphan.PromptTokens, countAsStart: false, store.TtlFor(orphan.Request)), ct).ConfigureAwait(false);
        if (take.AlreadyFinished)
        {
            if (orphan.Request.BatchId is { } batch)
            {
                await redis.RunAsync(() => store.Batches.EnsureCountedAsync(orphan.Keys, batch, orphan.RequestId), ct).ConfigureAwait(false);
            }

            // The orphan wrote its terminal entry meanwhile (or someone else did): nothing left to do.
            ledger.TryRemove(orphan.Key, out _);
            orphan.EndProbation();
            EndTrace(orphan, "already_finished");
            metrics.AlreadyFinished();
            await broker.AckAsync(delivery).ConfigureAwait(false);
            return true;
        }

        if (take.NextIndex > orphan.WrittenNext)
        {
            // The stream holds more than this worker wrote: another worker ran it meanwhile.
            HandOn(orphan, "fenced");
            return false;
        }

        orphan.Reattach(delivery, owner, attempt);
        if (take.NextIndex < orphan.WrittenNext)
        {
            orphan.Rewind(take.NextIndex);
            MarkDirty(orphan);
        }

        if (take.Cancelled && !orphan.CancelRequested)
        {
            orphan.CancelRequested = true;
            engine.Abort(orphan.Key);
        }

        metrics.Reattached();
        Log.Reattached(log, orphan.RequestId, attempt, take.NextIndex);
        return true;
    });

    /// <summary>
    /// Shutdown: writes what the requests still held generated so far (no terminal entry), then hands
    /// their deliveries back to the queue; the next worker resumes them from the stream.
    /// </summary>
    public async Task HandBackAsync()
    {
        var rest = ledger.All.ToList();
        if (rest.Count == 0)
        {
            return;
        }

        foreach (var r in rest)
        {
            engine.Abort(r.Key);
        }

        // Whatever the engine produced until the aborts took effect: keep it, so the next worker has less to redo.
        long now = Stopwatch.GetTimestamp();
        while (engine.Steps.TryRead(out var step))
        {
            foreach (var o in step)
            {
                if (!o.Finished)
                {
                    Merge(o, now);
                }
            }
        }

        try
        {
            var commands = rest.Where(r => r.HasPending).Select(r => r.BuildAppend(store.TtlFor(r.Request), includeTerminal: false)).ToList();
            if (commands.Count > 0)
            {
                await store.AppendBatchAsync(commands, IsRedisFailure).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (RedisGate.Classify(e) != RedisFailure.None)
        {
            Log.RedisWriteFailed(log, e.GetType().Name);
        }

        foreach (var r in rest)
        {
            ledger.TryRemove(r.Key, out _);
            r.EndProbation();
            if (!r.DeliveryLost)
            {
                await broker.RequeueAsync(r.Delivery).ConfigureAwait(false);
            }

            EndTrace(r, "handed_back");
            metrics.HandedBack();
        }

        Log.HandedBack(log, rest.Count);
    }

    private static bool IsRedisFailure(Exception e) => RedisGate.Classify(e) != RedisFailure.None;

    /// <summary>top_logprobs as the contract wants it: a JSON object of token text to logprob (the first of equal texts wins).</summary>
    private string TopLogprobsJson(SampledLogprobs lp)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in lp.Top)
            {
                string text = engine.TokenText(t.TokenId);
                if (seen.Add(text))
                {
                    w.WriteNumber(text, t.Logprob);
                }
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
