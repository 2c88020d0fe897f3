using System.Diagnostics;
using System.Text;
using Folio.Contracts;
using Folio.Engine.Constraints;
using Folio.Worker.Engine;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Folio.Worker.Output;
using Folio.Worker.Telemetry;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Folio.Worker.Runtime;

/// <summary>
/// Intake: one delivery in, and either an engine request or an answer. Every path ends in exactly
/// one of: the request runs (acknowledged after its terminal entry), an error entry on its stream
/// (a usable request_id), the error queue with Folio's reason headers (none), or, only while the
/// worker shuts down, a hand-back to the queue. Redis trouble is waited out (<see cref="RedisGate"/>),
/// never answered with a requeue. Consumption pauses while the engine cannot admit what it holds,
/// while Redis refuses writes, and while draining, so the queue, not this worker, holds the backlog.
/// No log line or header quotes the message's content.
/// </summary>
internal sealed class IntakeConsumer(
    BrokerSession broker,
    StreamStore store,
    RedisGate redis,
    IInferenceEngine engine,
    InFlightLedger ledger,
    OutputPump pump,
    RequestLimits limits,
    RabbitMqOptions rabbit,
    LimitsOptions limitsOptions,
    WorkerHostOptions host,
    string workerName,
    WorkerMetrics metrics,
    ILogger log,
    CancellationToken stopping) : IDisposable
{
    /// <summary>Tokens a suspect request must produce before the next suspect may start.</summary>
    public const int ProbationTokens = 16;

    private readonly SemaphoreSlim _consumeGate = new(1, 1);
    private readonly SemaphoreSlim _suspectGate = new(1, 1);

    /// <summary>With priority tiers: the order in which held requests reach the engine; null with one queue (deliveries start as they come).</summary>
    private readonly TierAdmission? _admission = rabbit.PriorityTiers > 1
        ? new TierAdmission(rabbit.PriorityTiers, Math.Max(1, engine.Info.MaxNumSeqs), rabbit.LowerTierEvery, () => ledger.Count)
        : null;

    private List<string>? _consumerTags;
    private long _consumerEpoch = -1;
    private long _waitingSince;
    private volatile bool _draining;

    /// <summary>Starts or pauses the consumer to match what the worker can take now.</summary>
    public async Task UpdateConsumingAsync(bool force)
    {
        if (broker.ConsumeChannel is not { IsOpen: true })
        {
            return;
        }

        if (_consumerTags is not null && _consumerEpoch != broker.Epoch)
        {
            _consumerTags = null; // Their channel is gone; the consumers went with it.
        }

        var load = engine.Load;
        long now = Stopwatch.GetTimestamp();
        if (load.Waiting == 0)
        {
            _waitingSince = 0;
        }
        else if (_waitingSince == 0)
        {
            _waitingSince = now;
        }

        // Pause when the engine has had waiting sequences for a while (admission is not instant), or
        // while Redis refuses writes: what arrives meanwhile would only wait in this worker's memory.
        bool saturated = _waitingSince != 0 && Stopwatch.GetElapsedTime(_waitingSince, now) > TimeSpan.FromMilliseconds(250);
        bool want = !_draining && !saturated && redis.Healthy;
        if (want == (_consumerTags is not null) && !force)
        {
            return;
        }

        await _consumeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (want && _consumerTags is null)
            {
                _consumerEpoch = broker.Epoch;
                var tags = new List<string>();
                foreach (var (queue, tier) in rabbit.TierQueues())
                {
                    tags.Add(await broker.ConsumeAsync(queue, (ch, epoch, ea) => OnDeliveryAsync(ch, epoch, ea, tier, queue)).ConfigureAwait(false));
                }

                _consumerTags = tags;
                Log.Consuming(log, rabbit.PriorityTiers > 1 ? $"{rabbit.RequestQueue} and its {rabbit.PriorityTiers} tiers" : rabbit.RequestQueue);
            }
            else if (!want && _consumerTags is { } tags)
            {
                _consumerTags = null;
                foreach (string tag in tags)
                {
                    await broker.CancelConsumerAsync(tag).ConfigureAwait(false);
                }

                if (redis.Healthy)
                {
                    Log.Paused(log, load.Running, load.Waiting);
                }
                else
                {
                    Log.PausedForRedis(log);
                }
            }
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException or ObjectDisposedException)
        {
            Log.SuperviseFailed(log, e.Message);
        }
        finally
        {
            _consumeGate.Release();
        }
    }

    /// <summary>Stops taking messages for good (drain).</summary>
    public async Task StopAsync()
    {
        _draining = true;
        // Held requests not yet admitted go back to the queue for another worker.
        _admission?.Close();
        await _consumeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_consumerTags is { } tags)
            {
                _consumerTags = null;
                foreach (string tag in tags)
                {
                    await broker.CancelConsumerAsync(tag).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException)
        {
            Log.SuperviseFailed(log, e.Message);
        }
        finally
        {
            _consumeGate.Release();
        }
    }

    private async Task OnDeliveryAsync(IChannel ch, long epoch, BasicDeliverEventArgs ea, int tier, string queue)
    {
        // The body buffer is reused once this handler returns: copy it.
        byte[] body = ea.Body.ToArray();
        var delivery = new DeliveryHandle(ch, ea.DeliveryTag, epoch);
        var trace = RequestTrace.Begin(ea.BasicProperties, queue, workerName, DeliveryCount(ea.BasicProperties) + 1);
        if (_admission is null)
        {
            await HandleTracedAsync(body, ea.BasicProperties, delivery, tier, trace).ConfigureAwait(false);
            return;
        }

        // With tiers a delivery may wait for its turn: waiting here would hold one of the channel's
        // few dispatch slots, and a more urgent delivery could queue behind held lower-tier ones.
        _ = Task.Run(() => HandleDetachedAsync(body, ea.BasicProperties, delivery, tier, trace), CancellationToken.None);
    }

    private async Task HandleDetachedAsync(byte[] body, IReadOnlyBasicProperties props, DeliveryHandle delivery, int tier, RequestTrace? trace)
    {
        try
        {
            await HandleTracedAsync(body, props, delivery, tier, trace).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // HandleAsync answers every failure itself; this only keeps a bug from going unseen.
            Log.IntakeFailed(log, "(unparsed)", e);
        }
    }

    /// <summary>Handles a delivery; its trace ends here unless the output pump took the request over.</summary>
    private async Task HandleTracedAsync(byte[] body, IReadOnlyBasicProperties props, DeliveryHandle delivery, int tier, RequestTrace? trace)
    {
        try
        {
            await HandleAsync(body, props, delivery, tier, trace).ConfigureAwait(false);
        }
        finally
        {
            if (trace is { Held: false })
            {
                trace.End();
            }
        }
    }

    private async Task HandleAsync(byte[] body, IReadOnlyBasicProperties props, DeliveryHandle delivery, int tier, RequestTrace? trace)
    {
        int attempt = DeliveryCount(props) + 1;
        if (_draining)
        {
            // Prefetched before the consumer was cancelled: leave it to another worker.
            trace?.Outcome("requeued");
            await broker.RequeueAsync(delivery).ConfigureAwait(false);
            return;
        }

        ObserveQueueTime(props);
        var parsed = Parse(body);
        string? requestId = parsed.Request?.RequestId ?? parsed.Error?.RequestId;
        if (requestId is null)
        {
            var err = parsed.Error!;
            Log.DeadLettering(log, delivery.Tag, err.Code, err.Message);
            await DeadLetterAsync(body, props, err.Code, err.Message, null, delivery, trace).ConfigureAwait(false);
            return;
        }

        trace?.Identify(requestId, parsed.Request?.Model ?? engine.Info.ModelName);

        var keys = store.Keys(requestId);
        try
        {
            if (parsed.IsValid && ledger.FindOrphan(requestId) is { } orphan
                && await pump.ReattachAsync(orphan, delivery, attempt, stopping).ConfigureAwait(false))
            {
                // The spans of the first delivery go on; this one's end here.
                trace?.Outcome("reattached");
                return;
            }

            var history = await redis.RunAsync(() => store.PeekAsync(keys), stopping, writes: false).ConfigureAwait(false);
            if (!history.Finished && (history.Takes >= rabbit.MaxDeliveries || history.Starts >= 3 * rabbit.MaxDeliveries))
            {
                await PoisonAsync(body, props, keys, requestId, parsed.Request, history, delivery, trace).ConfigureAwait(false);
                return;
            }

            if (!parsed.IsValid)
            {
                await RejectAsync(delivery, keys, parsed.Error!, trace).ConfigureAwait(false);
                return;
            }

            var request = parsed.Request!;
            if (request.DeadlineMs is { } deadline && DeadlineClock.HasPassed(deadline))
            {
                // Nobody waits for it any more: answer without computing (and without a start entry).
                metrics.Expired();
                long late = DeadlineClock.NowUnixMs() - deadline;
                await RejectAsync(delivery, keys, new RequestError(ErrorCodes.DeadlineExceeded, $"deadline_ms passed {late} ms before a worker took the request (by the worker's clock); nothing was computed", requestId), trace, request).ConfigureAwait(false);
                return;
            }

            if (request.Model is { } model && !engine.Info.Serves(model))
            {
                string aliases = engine.Info.Aliases is { Count: > 0 } a ? $" (aliases: {string.Join(", ", a)})" : string.Empty;
                await RejectAsync(delivery, keys, new RequestError(ErrorCodes.ModelNotFound, $"model: this worker serves {engine.Info.ModelName}{aliases}, not the model the request names; publish it to the queue of the model it names, or fix the name", requestId), trace, request).ConfigureAwait(false);
                return;
            }

            int[] promptIds;
            CompiledConstraint? constraint;
            try
            {
                promptIds = engine.EncodePrompt(request);
                constraint = engine.CompileConstraint(request);
            }
            catch (PromptException e)
            {
                await RejectAsync(delivery, keys, new RequestError(e.Code, e.Message, requestId), trace, request).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.TokenizeFailed(log, requestId, e.GetType().Name);
                await RejectAsync(delivery, keys, new RequestError(ErrorCodes.InvalidRequest, "prompt could not be tokenized by this model's tokenizer", requestId), trace, request).ConfigureAwait(false);
                return;
            }

            if (limits.Validate(request, promptIds.Length) is { } invalid)
            {
                await RejectAsync(delivery, keys, invalid, trace, request).ConfigureAwait(false);
                return;
            }

            using var ticket = _admission is null ? null : await _admission.WaitAsync(tier, stopping).ConfigureAwait(false);
            if (_admission is not null && (ticket is null || delivery.Epoch != broker.Epoch))
            {
                // Admission closed (drain): back to the queue. Or the channel that carried it went
                // while it waited: the broker requeued it already, and its handle is void.
                trace?.Outcome("requeued");
                await broker.RequeueAsync(delivery).ConfigureAwait(false);
                return;
            }

            bool suspect = history.Takes > 0 && !history.Finished;
            if (suspect)
            {
                // Started before and never finished: perhaps it kills workers. Run such requests one
                // at a time here, each past its probation, so a crash is charged to few bystanders.
                await _suspectGate.WaitAsync(stopping).ConfigureAwait(false);
            }

            await StartAsync(request, promptIds, constraint, keys, delivery, attempt, suspect, trace).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            trace?.Outcome("requeued");
            await broker.RequeueAsync(delivery).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A bug, or a request whose keys Redis refuses: answer it rather than redeliver it forever.
            Log.IntakeFailed(log, requestId, e);
            await AnswerFailureAsync(body, props, keys, requestId, parsed.Request, e, delivery, trace).ConfigureAwait(false);
        }
    }

    /// <summary>The parser never throws by design; should it, the message is still answered.</summary>
    private RequestParseResult Parse(byte[] body)
    {
        try
        {
            return RequestParser.Parse(body, limitsOptions.MaxMessageBytes);
        }
        catch (Exception e)
        {
            Log.ParserFailed(log, e.GetType().Name);
            return RequestParseResult.Fail(new RequestError(ErrorCodes.InvalidRequest, "the message could not be parsed", RequestIdScanner.TryFind(body)));
        }
    }

    private async Task StartAsync(GenerationRequest request, int[] promptIds, CompiledConstraint? constraint, StreamKeys keys, DeliveryHandle delivery, int attempt, bool suspect, RequestTrace? trace)
    {
        var key = ledger.NextKey();
        string owner = $"{workerName}/{key}/{Guid.NewGuid():N}";
        var r = new InFlightRequest(key, request, keys, owner, delivery, attempt, promptIds.Length) { Trace = trace };
        if (suspect)
        {
            r.HoldProbation(_suspectGate, ProbationTokens);
        }

        ledger.Add(r);
        try
        {
            var takeSpan = trace?.StartTake();
            TakeResult take;
            try
            {
                take = await redis.RunAsync(() => store.TakeAsync(keys, owner, workerName, attempt, promptIds.Length, countAsStart: true, store.TtlFor(request)), stopping).ConfigureAwait(false);
            }
            finally
            {
                WorkerTracing.StopDetached(takeSpan);
            }

            if (take.AlreadyFinished)
            {
                ledger.TryRemove(key, out _);
                r.EndProbation();
                await EnsureCountedAsync(keys, request).ConfigureAwait(false);
                metrics.AlreadyFinished();
                Log.AlreadyFinished(log, request.RequestId);
                trace?.Outcome("already_finished");
                await AckAsync(delivery, trace).ConfigureAwait(false);
                return;
            }

            if (FaultInjection.Enabled && !string.IsNullOrEmpty(host.CrashOnRequestIdPrefix) && request.RequestId.StartsWith(host.CrashOnRequestIdPrefix, StringComparison.Ordinal))
            {
                // Fault injection for the poison-message tests: die the way a native crash would.
                Environment.FailFast("fault injection: Folio:Worker:CrashOnRequestIdPrefix matched " + request.RequestId);
            }

            var resumed = take.NextIndex > 0
                ? await redis.RunAsync(() => store.ReadResumeAsync(keys, take.NextIndex), stopping, writes: false).ConfigureAwait(false)
                : [];
            r.InitResume(resumed);
            // From here the request stays in the ledger, and the output pump ends its trace.
            trace?.HandToPump(take.NextIndex);
            metrics.PromptTokens(promptIds.Length);
            if (take.NextIndex > 0)
            {
                metrics.Resumed();
                Log.Resuming(log, request.RequestId, attempt, take.NextIndex);
            }
            else
            {
                Log.Taken(log, request.RequestId, attempt, promptIds.Length);
            }

            if (take.Cancelled || r.CancelRequested)
            {
                pump.FinishLocally(key, new RequestFinish(FinishReasons.Abort, string.Empty, 0));
                return;
            }

            if (take.NextIndex >= request.MaxTokens)
            {
                // The previous attempt wrote every token but died before the done entry.
                pump.FinishLocally(key, new RequestFinish(FinishReasons.Length, string.Empty, 0));
                return;
            }

            try
            {
                engine.Submit(new EngineSubmission(key, request, promptIds, [.. resumed.Select(t => t.TokenId)], constraint));
            }
            catch (ArgumentException e)
            {
                // Whatever the engine refuses is the request's fault (the parser let it through): answer it.
                pump.FinishLocally(key, new RequestFinish(FinishReasons.Stop, string.Empty, 0, ErrorCodes.InvalidRequest, e.Message));
                return;
            }

            r.Started = true;
            if (r.CancelRequested)
            {
                engine.Abort(key);
            }
        }
        catch
        {
            // Whatever failed before the engine had it: this delivery no longer counts as in flight; the caller answers it.
            ledger.TryRemove(key, out _);
            r.EndProbation();
            trace?.Unhold();
            throw;
        }
    }

    /// <param name="request">The parsed request when there is one: its batch (TTL, count); null for a message that did not parse.</param>
    private async Task RejectAsync(DeliveryHandle delivery, StreamKeys keys, RequestError error, RequestTrace? trace, GenerationRequest? request = null)
    {
        Log.Rejected(log, error.RequestId ?? "(none)", error.Code, error.Message);
        await redis.RunAsync(() => store.FailAsync(keys, error.Code, error.Message, store.TtlFor(request)), stopping).ConfigureAwait(false);
        await EnsureCountedAsync(keys, request).ConfigureAwait(false);
        metrics.Error(error.Code);
        trace?.Outcome("error_entry", error.Code);
        await AckAsync(delivery, trace).ConfigureAwait(false);
    }

    /// <summary>Acknowledges a delivery intake answered, inside a folio.ack span when traced.</summary>
    private async Task AckAsync(DeliveryHandle delivery, RequestTrace? trace)
    {
        var span = trace?.StartAck();
        try
        {
            await broker.AckAsync(delivery).ConfigureAwait(false);
        }
        finally
        {
            WorkerTracing.StopDetached(span);
        }
    }

    private async Task PoisonAsync(byte[] body, IReadOnlyBasicProperties props, StreamKeys keys, string requestId, GenerationRequest? request, StartHistory history, DeliveryHandle delivery, RequestTrace? trace)
    {
        string message = $"the request was started {history.Starts} times ({history.Takes} of them possibly crashing a worker) and never finished (Folio:RabbitMq:MaxDeliveries is {rabbit.MaxDeliveries}); it may crash workers, so it was moved to the error queue";
        Log.Poison(log, requestId, history.Starts);
        await redis.RunAsync(() => store.FailAsync(keys, ErrorCodes.Internal, message, store.TtlFor(request)), stopping).ConfigureAwait(false);
        await EnsureCountedAsync(keys, request).ConfigureAwait(false);
        metrics.Error(ErrorCodes.Internal);
        await DeadLetterAsync(body, props, ErrorCodes.Internal, message, requestId, delivery, trace).ConfigureAwait(false);
    }

    /// <summary>An unexpected failure for this one message: an error entry if its stream can take one, else the error queue.</summary>
    private async Task AnswerFailureAsync(byte[] body, IReadOnlyBasicProperties props, StreamKeys keys, string requestId, GenerationRequest? request, Exception failure, DeliveryHandle delivery, RequestTrace? trace)
    {
        string message = $"the worker failed on this request ({failure.GetType().Name}); the failure is in the worker's log";
        try
        {
            await redis.RunAsync(() => store.FailAsync(keys, ErrorCodes.Internal, message, store.TtlFor(request)), stopping).ConfigureAwait(false);
            await EnsureCountedAsync(keys, request).ConfigureAwait(false);
            metrics.Error(ErrorCodes.Internal);
            trace?.Outcome("error_entry", ErrorCodes.Internal);
            await AckAsync(delivery, trace).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            trace?.Outcome("requeued");
            await broker.RequeueAsync(delivery).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Not even an error entry can be written (its key holds another type): the error queue keeps it.
            Log.IntakeFailed(log, requestId, e);
            await DeadLetterAsync(body, props, ErrorCodes.Internal, message + "; its stream key could not be written either", requestId, delivery, trace).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A batch request whose stream has ended (just now, or by an earlier delivery that may have died
    /// before counting) is counted towards its batch: exactly once, whatever the stream's ending.
    /// </summary>
    private async Task EnsureCountedAsync(StreamKeys keys, GenerationRequest? request)
    {
        if (request?.BatchId is { } batch)
        {
            await redis.RunAsync(() => store.Batches.EnsureCountedAsync(keys, batch, request.RequestId), stopping).ConfigureAwait(false);
        }
    }

    private async Task DeadLetterAsync(byte[] body, IReadOnlyBasicProperties props, string code, string reason, string? requestId, DeliveryHandle delivery, RequestTrace? trace)
    {
        try
        {
            await broker.DeadLetterAsync(body, props, code, reason, requestId).ConfigureAwait(false);
            metrics.DeadLettered();
            trace?.Outcome("dead_lettered", code);
            await AckAsync(delivery, trace).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or ObjectDisposedException or InvalidOperationException)
        {
            // The broker connection is going: the unacknowledged message returns to the queue with it.
            Log.AckFailed(log, delivery.Tag, e.Message);
        }
    }

    /// <summary>Queue time from the millisecond publish header (docs/contract.md, "Message headers"), else from the AMQP timestamp's whole seconds.</summary>
    private void ObserveQueueTime(IReadOnlyBasicProperties props)
    {
        double nowSeconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        if (MessageHeaders.AsInt64(MessageHeaders.Find(props.Headers, MessageHeaders.PublishedAtMs)) is { } publishedMs)
        {
            metrics.QueueTime.Observe(Math.Max(0, nowSeconds - (publishedMs / 1000.0)));
        }
        else if (props.Timestamp.UnixTime > 0)
        {
            metrics.QueueTime.Observe(Math.Max(0, nowSeconds - props.Timestamp.UnixTime));
        }
    }

    private static int DeliveryCount(IReadOnlyBasicProperties props)
    {
        if (props.Headers is null || !props.Headers.TryGetValue("x-delivery-count", out var v) || v is null)
        {
            return 0;
        }

        return v switch
        {
            int i => i,
            long l => (int)Math.Min(l, int.MaxValue),
            byte[] b when int.TryParse(Encoding.ASCII.GetString(b), out int p) => p,
            _ => 0,
        };
    }

    /// <summary>With tiers: admits held requests when the ledger has room (the ledger calls this after every removal).</summary>
    public void AdmitWaiting() => _admission?.Pump();

    public void Dispose()
    {
        _admission?.Close();
        _consumeGate.Dispose();
        _suspectGate.Dispose();
    }
}
