using System.Diagnostics;
using System.Text;
using Folio.Contracts;
using Folio.Worker.Engine;
using Folio.Worker.Output;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StackExchange.Redis;

namespace Folio.Worker.Hosting;

/// <summary>Intake: one delivery in, either an engine request or (invalid, poison, finished) an immediate answer.</summary>
internal sealed partial class WorkerRuntime
{
    /// <summary>Starts or pauses the consumer: a worker whose engine cannot admit what it already holds leaves messages for others.</summary>
    private async Task UpdateConsumingAsync(bool force)
    {
        var ch = _consumeChannel;
        if (ch is null || !ch.IsOpen)
        {
            return;
        }

        var load = _engine.Load;
        long now = Stopwatch.GetTimestamp();
        if (load.Waiting == 0)
        {
            _waitingSince = 0;
        }
        else if (_waitingSince == 0)
        {
            _waitingSince = now;
        }

        // Pause only when the engine has had waiting sequences for a while (admission is not instant).
        bool saturated = _waitingSince != 0 && Stopwatch.GetElapsedTime(_waitingSince, now) > TimeSpan.FromMilliseconds(250);
        bool want = !_draining && !saturated;
        if (want == (_consumerTag is not null) && !force)
        {
            return;
        }

        await _consumeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (want && _consumerTag is null)
            {
                var consumer = new AsyncEventingBasicConsumer(ch);
                long epoch = Interlocked.Read(ref _epoch);
                consumer.ReceivedAsync += (_, ea) => OnDeliveryAsync(ch, epoch, ea);
                _consumerTag = await ch.BasicConsumeAsync(_rabbit.RequestQueue, autoAck: false, consumer).ConfigureAwait(false);
                Log.Consuming(_log, _rabbit.RequestQueue);
            }
            else if (!want && _consumerTag is { } tag)
            {
                _consumerTag = null;
                await ch.BasicCancelAsync(tag).ConfigureAwait(false);
                Log.Paused(_log, load.Running, load.Waiting);
            }
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException or ObjectDisposedException)
        {
            Log.SuperviseFailed(_log, e.Message);
        }
        finally
        {
            _consumeGate.Release();
        }
    }

    private long _waitingSince;

    /// <summary>Tokens a suspect request must produce before the next suspect may start.</summary>
    private const int ProbationTokens = 16;

    private readonly SemaphoreSlim _suspectGate = new(1, 1);

    private async Task StopConsumingAsync()
    {
        await _consumeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_consumerTag is { } tag && _consumeChannel is { IsOpen: true } ch)
            {
                _consumerTag = null;
                await ch.BasicCancelAsync(tag).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException)
        {
            Log.SuperviseFailed(_log, e.Message);
        }
        finally
        {
            _consumeGate.Release();
        }
    }

    private async Task OnDeliveryAsync(IChannel ch, long epoch, BasicDeliverEventArgs ea)
    {
        // The body buffer is reused once this handler returns: copy it.
        byte[] body = ea.Body.ToArray();
        var delivery = new DeliveryHandle(ch, ea.DeliveryTag, epoch);
        int attempt = DeliveryCount(ea.BasicProperties) + 1;
        string? requestId = null;
        if (_draining)
        {
            // Prefetched before the consumer was cancelled: leave it to another worker.
            await NackAsync(delivery, requeue: true).ConfigureAwait(false);
            return;
        }

        try
        {
            if (ea.BasicProperties.Timestamp.UnixTime > 0)
            {
                double queued = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 - ea.BasicProperties.Timestamp.UnixTime;
                _metrics.QueueTime.Observe(Math.Max(0, queued));
            }

            var parsed = RequestParser.Parse(body, _limitsOptions.MaxMessageBytes);
            requestId = parsed.Request?.RequestId ?? parsed.Error?.RequestId;
            if (requestId is null)
            {
                var err = parsed.Error!;
                Log.DeadLettering(_log, ea.DeliveryTag, err.Message);
                await DeadLetterAsync(body, ea.BasicProperties, err.Code, err.Message, null).ConfigureAwait(false);
                await AckAsync(delivery).ConfigureAwait(false);
                return;
            }

            var keys = _store!.Keys(requestId);
            var (takes, finished) = await WithRedisRetry(() => _store.PeekAsync(keys)).ConfigureAwait(false);
            if (!finished && takes >= _rabbit.MaxDeliveries)
            {
                string message = $"the request was started {takes} times and never finished (Folio:RabbitMq:MaxDeliveries is {_rabbit.MaxDeliveries}); it may crash workers, so it was moved to the error queue";
                Log.Poison(_log, requestId, takes);
                await WithRedisRetry(() => _store.FailAsync(keys, ErrorCodes.Internal, message)).ConfigureAwait(false);
                await DeadLetterAsync(body, ea.BasicProperties, ErrorCodes.Internal, message, requestId).ConfigureAwait(false);
                _metrics.Error(ErrorCodes.Internal);
                await AckAsync(delivery).ConfigureAwait(false);
                return;
            }

            if (!parsed.IsValid)
            {
                await RejectAsync(delivery, keys, parsed.Error!).ConfigureAwait(false);
                return;
            }

            var request = parsed.Request!;
            int[] promptIds;
            try
            {
                promptIds = request.PromptTokenIds is { } ids ? [.. ids] : _engine.Tokenize(request.Prompt!);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await RejectAsync(delivery, keys, new RequestError(ErrorCodes.InvalidRequest, "the prompt could not be tokenized: " + e.Message, requestId)).ConfigureAwait(false);
                return;
            }

            if (_limits.Validate(request, promptIds.Length) is { } invalid)
            {
                await RejectAsync(delivery, keys, invalid).ConfigureAwait(false);
                return;
            }

            bool suspect = takes > 0 && !finished;
            if (suspect)
            {
                // Started before and never finished: perhaps it kills workers. Run such requests one
                // at a time here, each past its probation, so a crash is charged to few bystanders.
                await _suspectGate.WaitAsync(_stopping.Token).ConfigureAwait(false);
            }

            await StartRequestAsync(request, promptIds, keys, delivery, attempt, suspect).ConfigureAwait(false);
        }
        catch (Exception e) when (!_stopping.IsCancellationRequested && e is not OperationCanceledException)
        {
            // A bug or an unexpected failure for this one message: answer it rather than redeliver forever.
            Log.IntakeFailed(_log, requestId ?? "(none)", e);
            try
            {
                if (requestId is not null)
                {
                    await _store!.FailAsync(_store.Keys(requestId), ErrorCodes.Internal, "the worker failed on this request: " + e.Message).ConfigureAwait(false);
                    await AckAsync(delivery).ConfigureAwait(false);
                }
                else
                {
                    await NackAsync(delivery, requeue: true).ConfigureAwait(false);
                }
            }
            catch (Exception inner)
            {
                Log.IntakeFailed(_log, requestId ?? "(none)", inner);
                await NackAsync(delivery, requeue: true).ConfigureAwait(false);
            }
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            await NackAsync(delivery, requeue: true).ConfigureAwait(false);
        }
    }

    private async Task StartRequestAsync(GenerationRequest request, int[] promptIds, StreamKeys keys, DeliveryHandle delivery, int attempt, bool suspect)
    {
        long ticket = Interlocked.Increment(ref _nextTicket);
        string owner = $"{WorkerName}/{ticket}/{Guid.NewGuid():N}";
        var r = new InFlightRequest(ticket, request, keys, owner, delivery, attempt, promptIds.Length);
        if (suspect)
        {
            r.HoldProbation(_suspectGate, ProbationTokens);
        }

        _inFlight[ticket] = r;
        TakeResult take;
        try
        {
            take = await WithRedisRetry(() => _store!.TakeAsync(keys, owner, WorkerName, attempt, promptIds.Length)).ConfigureAwait(false);
        }
        catch
        {
            _inFlight.TryRemove(ticket, out _);
            r.EndProbation();
            throw;
        }

        if (take.AlreadyFinished)
        {
            _inFlight.TryRemove(ticket, out _);
            r.EndProbation();
            _metrics.AlreadyFinished();
            Log.AlreadyFinished(_log, request.RequestId);
            await AckAsync(delivery).ConfigureAwait(false);
            return;
        }

        if (!string.IsNullOrEmpty(_host.CrashOnRequestIdPrefix) && request.RequestId.StartsWith(_host.CrashOnRequestIdPrefix, StringComparison.Ordinal))
        {
            // Fault injection for the poison-message tests: die the way a native crash would.
            Environment.FailFast("fault injection: Folio:Worker:CrashOnRequestIdPrefix matched " + request.RequestId);
        }

        try
        {
            var resume = take.NextIndex > 0 ? await WithRedisRetry(() => _store!.ReadResumeAsync(keys, take.NextIndex)).ConfigureAwait(false) : new ResumeState([], string.Empty);
            r.InitResume(take.NextIndex, resume.Text);
            _metrics.PromptTokens(promptIds.Length);
            if (take.NextIndex > 0)
            {
                _metrics.Resumed();
                Log.Resuming(_log, request.RequestId, attempt, take.NextIndex);
            }
            else
            {
                Log.Taken(_log, request.RequestId, attempt, promptIds.Length);
            }

            if (take.Cancelled || r.CancelRequested)
            {
                _localOutputs.Writer.TryWrite(new SequenceOutput(ticket, take.NextIndex, [], new SequenceFinish(FinishReasons.Abort, string.Empty, promptIds.Length, 0)));
                return;
            }

            if (take.NextIndex >= request.MaxTokens)
            {
                // The previous attempt wrote every token but died before the done entry.
                _localOutputs.Writer.TryWrite(new SequenceOutput(ticket, take.NextIndex, [], new SequenceFinish(FinishReasons.Length, string.Empty, promptIds.Length, 0)));
                return;
            }

            _engine.Submit(new EngineRequest(ticket, request, promptIds, resume.TokenIds));
            r.Started = true;
            if (r.CancelRequested)
            {
                _engine.Abort(ticket);
            }
        }
        catch
        {
            // Whatever failed after the take (an inconsistent stream, the engine refusing): this
            // delivery no longer counts as in flight; the caller answers it.
            _inFlight.TryRemove(ticket, out _);
            r.EndProbation();
            throw;
        }
    }

    private async Task RejectAsync(DeliveryHandle delivery, StreamKeys keys, RequestError error)
    {
        Log.Rejected(_log, error.RequestId ?? "(none)", error.Code, error.Message);
        await WithRedisRetry(() => _store!.FailAsync(keys, error.Code, error.Message)).ConfigureAwait(false);
        _metrics.Error(error.Code);
        await AckAsync(delivery).ConfigureAwait(false);
    }

    /// <summary>Moves a message to the error queue (publisher-confirmed) with the reason in its headers.</summary>
    private async Task DeadLetterAsync(byte[] body, IReadOnlyBasicProperties original, string code, string reason, string? requestId)
    {
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (original.Headers is { } h)
        {
            foreach (var kv in h)
            {
                headers[kv.Key] = kv.Value;
            }
        }

        headers[Contracts.WireNames.ReasonHeader] = Encoding.UTF8.GetBytes(reason);
        headers[Contracts.WireNames.ReasonCodeHeader] = Encoding.UTF8.GetBytes(code);
        headers["folio-original-queue"] = Encoding.UTF8.GetBytes(_rabbit.RequestQueue);
        headers["folio-worker"] = Encoding.UTF8.GetBytes(WorkerName);
        if (requestId is not null)
        {
            headers[Contracts.WireNames.RequestIdHeader] = Encoding.UTF8.GetBytes(requestId);
        }

        var props = new BasicProperties
        {
            Persistent = true,
            ContentType = original.ContentType,
            MessageId = original.MessageId,
            Headers = headers,
        };
        var ch = _publishChannel ?? throw new InvalidOperationException("no publish channel");
        await ch.BasicPublishAsync(string.Empty, _rabbit.ErrorQueueName, mandatory: false, props, body).ConfigureAwait(false);
        _metrics.DeadLettered();
    }

    private async Task AckAsync(DeliveryHandle d)
    {
        if (d.Epoch != Interlocked.Read(ref _epoch) || !d.Channel.IsOpen)
        {
            return; // The broker already requeued it when the channel went.
        }

        try
        {
            await d.Channel.BasicAckAsync(d.Tag, multiple: false).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or ObjectDisposedException)
        {
            Log.AckFailed(_log, d.Tag, e.Message);
        }
    }

    private async Task NackAsync(DeliveryHandle d, bool requeue)
    {
        if (d.Epoch != Interlocked.Read(ref _epoch) || !d.Channel.IsOpen)
        {
            return;
        }

        try
        {
            await d.Channel.BasicNackAsync(d.Tag, multiple: false, requeue).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or ObjectDisposedException)
        {
            Log.AckFailed(_log, d.Tag, e.Message);
        }
    }

    /// <summary>Retries an operation while Redis is unreachable (a restart): the message waits with us rather than being redelivered.</summary>
    private async Task<T> WithRedisRetry<T>(Func<Task<T>> op)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await op().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException || (e is RedisServerException rs && rs.Message.StartsWith("LOADING", StringComparison.Ordinal)))
            {
                if (_stopping.IsCancellationRequested)
                {
                    throw;
                }

                Log.RedisUnavailable(_log, attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * attempt)), _stopping.Token).ConfigureAwait(false);
            }
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
}
