using System.Diagnostics;
using Folio.Contracts;
using Folio.Worker.Engine;
using Folio.Worker.Output;
using StackExchange.Redis;

namespace Folio.Worker.Hosting;

/// <summary>
/// Output: every engine step's tokens for every sequence go to Redis in one pipelined round trip;
/// a request is acknowledged once its terminal entry is written. When Redis is away the output
/// waits in memory and the write is retried: the scripts make a retry after a lost reply harmless.
/// </summary>
internal sealed partial class WorkerRuntime
{
    private readonly List<InFlightRequest> _flushTargets = [];
    private readonly List<AppendCommand> _flushCommands = [];

    private async Task PumpAsync(CancellationToken ct)
    {
        var steps = _engine.Steps;
        var local = _localOutputs.Reader;
        bool retryPending = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!steps.TryPeek(out _) && !local.TryPeek(out _))
                {
                    var wait = Task.WhenAny(steps.WaitToReadAsync(ct).AsTask(), local.WaitToReadAsync(ct).AsTask());
                    // While a write is waiting for Redis, wake up to retry it even if the engine is quiet.
                    var timeout = retryPending ? Task.Delay(200, ct) : Task.Delay(1000, ct);
                    await Task.WhenAny(wait, timeout).ConfigureAwait(false);
                }

                long now = Stopwatch.GetTimestamp();
                while (steps.TryRead(out var step))
                {
                    foreach (var o in step.Outputs)
                    {
                        Merge(o, now);
                    }
                }

                while (local.TryRead(out var o))
                {
                    Merge(o, now);
                }

                retryPending = !await FlushAsync().ConfigureAwait(false);
                await UpdateConsumingAsync(force: false).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.PumpFailed(_log, e);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private void Merge(SequenceOutput o, long now)
    {
        if (_inFlight.TryGetValue(o.Ticket, out var r))
        {
            r.Merge(o, now);
        }
    }

    /// <summary>Writes everything pending in one round trip; false when Redis could not be reached (retry later).</summary>
    private async Task<bool> FlushAsync()
    {
        _flushTargets.Clear();
        _flushCommands.Clear();
        foreach (var r in _inFlight.Values)
        {
            if (r.HasPending)
            {
                _flushTargets.Add(r);
                _flushCommands.Add(r.BuildAppend(includeTerminal: true));
            }
        }

        if (_flushTargets.Count == 0)
        {
            return true;
        }

        long[] results;
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            results = await _store!.AppendBatchAsync(_flushCommands).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _metrics.RedisWriteFailed();
            Log.RedisWriteFailed(_log, e.Message);
            return false;
        }

        _metrics.RedisWrite.Observe(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        for (int i = 0; i < _flushTargets.Count; i++)
        {
            var r = _flushTargets[i];
            var c = _flushCommands[i];
            long result = results[i];
            if (!_inFlight.ContainsKey(r.Ticket))
            {
                continue; // Orphaned while the write was in flight (its channel went).
            }

            if (result == AppendResult.Fenced)
            {
                // Another delivery of the same request took over (this one's channel died, or a duplicate publish).
                _inFlight.TryRemove(r.Ticket, out _);
                r.EndProbation();
                _engine.Abort(r.Ticket);
                Log.Fenced(_log, r.RequestId);
                await AckAsync(r.Delivery).ConfigureAwait(false);
                continue;
            }

            if (result == AppendResult.Gap)
            {
                _inFlight.TryRemove(r.Ticket, out _);
                r.EndProbation();
                _engine.Abort(r.Ticket);
                Log.IndexGap(_log, r.RequestId, c.FirstIndex);
                await NackAsync(r.Delivery, requeue: true).ConfigureAwait(false);
                continue;
            }

            int before = r.WrittenNext;
            r.Committed(c, result);
            _metrics.GenerationTokens(Math.Max(0, r.WrittenNext - before));
            if (c.Terminal is not null)
            {
                _inFlight.TryRemove(r.Ticket, out _);
                r.EndProbation();
                Completed(r);
                await AckAsync(r.Delivery).ConfigureAwait(false);
            }
        }

        return true;
    }

    private void Completed(InFlightRequest r)
    {
        var f = r.Finish!;
        if (f.ErrorCode is { } code)
        {
            _metrics.Error(code);
            Log.FinishedWithError(_log, r.RequestId, code);
            return;
        }

        _metrics.Finished(f.FinishReason);
        if (r.FirstTokenAt != 0)
        {
            _metrics.TimeToFirstToken.Observe(Stopwatch.GetElapsedTime(r.ReceivedAt, r.FirstTokenAt).TotalSeconds);
            if (r.TokensThisAttempt > 1)
            {
                _metrics.TimePerOutputToken.Observe(Stopwatch.GetElapsedTime(r.FirstTokenAt, r.LastTokenAt).TotalSeconds / (r.TokensThisAttempt - 1));
            }
        }

        _metrics.E2eLatency.Observe(Stopwatch.GetElapsedTime(r.ReceivedAt).TotalSeconds);
        Log.Finished(_log, r.RequestId, f.FinishReason, r.WrittenNext);
    }
}
