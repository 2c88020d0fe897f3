using System.Collections.Concurrent;
using System.Text;
using Folio.Contracts;
using Folio.Worker.Intake;
using Folio.Worker.Options;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Folio.Worker.Runtime;

/// <summary>
/// The worker's broker connection and its channels: connect with retry, declare the topology,
/// re-open channels the broker closed, and acknowledge deliveries only on the channel incarnation
/// (epoch) that carried them. When the consume channel goes, <see cref="ConsumeChannelLost"/> tells
/// the runtime which deliveries are no longer ours.
/// </summary>
internal sealed class BrokerSession(RabbitMqOptions options, string workerName, ushort prefetch, IReadOnlyList<string> modelNames, ILogger log) : IAsyncDisposable
{
    private long _epoch;
    private IConnection? _connection;
    private IChannel? _consume;
    private IChannel? _publish;
    private volatile bool _recovered;

    // Deliveries not yet answered, by (channel incarnation, tag), with the queue each came from:
    // this worker's share of each queue's unacknowledged messages, for /metrics.
    private readonly ConcurrentDictionary<(long Epoch, ulong Tag), string> _unanswered = new();

    /// <summary>Raised (on a library thread) with the epoch whose deliveries the broker has requeued.</summary>
    public event Action<long>? ConsumeChannelLost;

    public IConnection? Connection => _connection;

    public IChannel? ConsumeChannel => _consume;

    public long Epoch => Interlocked.Read(ref _epoch);

    public bool IsOpen => _connection is { IsOpen: true } && _consume is { IsOpen: true };

    /// <summary>Set after an automatic connection recovery: the topology must be declared again and the cancel queue re-created.</summary>
    public bool TakeRecoveredFlag()
    {
        bool was = _recovered;
        _recovered = false;
        return was;
    }

    public async Task ConnectAsync(CancellationToken ct)
    {
        var nodes = Contracts.BrokerUris.Parse(options.Uri, "Folio:RabbitMq:Uri");
        var factory = new ConnectionFactory
        {
            Uri = nodes[0],
            AutomaticRecoveryEnabled = true,
            // The worker re-declares its topology and re-subscribes itself after a recovery: a
            // consumer recovered by the library would keep the delivery epoch of the lost
            // connection, and its deliveries could never be acknowledged.
            TopologyRecoveryEnabled = false,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
            RequestedHeartbeat = TimeSpan.FromSeconds(20),
            ClientProvidedName = "folio-worker " + workerName,
            // Deliveries are taken in parallel: each costs Redis round trips (peek, take), and a burst
            // of requests should reach the engine's next step together, not one by one.
            ConsumerDispatchConcurrency = 8,
        };
        if (factory.Ssl.Enabled && !string.IsNullOrEmpty(options.TlsServerName))
        {
            factory.Ssl.ServerName = options.TlsServerName;
        }

        // Every node of a cluster, tried in turn at connect and again by automatic recovery.
        var endpoints = nodes.Select(u => new AmqpTcpEndpoint(u, new SslOption(options.TlsServerName is { Length: > 0 } tls ? tls : u.Host, enabled: u.Scheme == "amqps"))).ToList();
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await factory.CreateConnectionAsync(endpoints, ct).ConfigureAwait(false);
                connection.ConnectionShutdownAsync += (_, e) =>
                {
                    if (e.Initiator != ShutdownInitiator.Application)
                    {
                        Log.RabbitConnectionLost(log, e.ReplyText);
                    }

                    return Task.CompletedTask;
                };
                connection.RecoverySucceededAsync += (_, _) =>
                {
                    Log.RabbitRecovered(log);
                    _recovered = true;
                    return Task.CompletedTask;
                };
                _connection = connection;
                break;
            }
            catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException e) when (!ct.IsCancellationRequested)
            {
                Log.RabbitUnreachable(log, Redaction.AmqpEndpoint(options.Uri), attempt, e.InnerException?.Message ?? e.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)), ct).ConfigureAwait(false);
            }
        }

        foreach (string fix in await QueueTopology.DeclareAsync(_connection, options, modelNames, ct).ConfigureAwait(false))
        {
            Log.QueueArgumentsDiffer(log, fix);
        }

        await EnsureChannelsAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Declares the topology again (after a recovery the broker may have lost it).</summary>
    public Task RedeclareAsync(CancellationToken ct) => QueueTopology.DeclareAsync(_connection!, options, modelNames, ct);

    /// <summary>Opens the publish and consume channels where they are closed (auto-recovery only covers the connection).</summary>
    public async Task EnsureChannelsAsync(CancellationToken ct)
    {
        var connection = _connection!;
        if (_publish is not { IsOpen: true })
        {
            _publish = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct).ConfigureAwait(false);
        }

        if (_consume is not { IsOpen: true })
        {
            var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
            // Prefetch: never hold more unacknowledged messages than the engine runs at once.
            await ch.BasicQosAsync(0, prefetch, false, ct).ConfigureAwait(false);
            ch.ChannelShutdownAsync += (_, _) =>
            {
                // A delivery tag belongs to one incarnation of the channel: when it goes, the broker
                // requeues every unacknowledged message, and our handles to them are void.
                long old = Interlocked.Increment(ref _epoch) - 1;
                ForgetUnanswered(old);
                ConsumeChannelLost?.Invoke(old);
                return Task.CompletedTask;
            };
            _consume = ch;
        }
    }

    /// <summary>This worker's unacknowledged deliveries per queue (only the queues it holds some of).</summary>
    public Dictionary<string, int> UnacknowledgedByQueue()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var kv in _unanswered)
        {
            counts[kv.Value] = counts.GetValueOrDefault(kv.Value) + 1;
        }

        return counts;
    }

    /// <summary>The broker requeued every delivery of a lost channel: none of them is ours to count.</summary>
    private void ForgetUnanswered(long epoch)
    {
        foreach (var key in _unanswered.Keys)
        {
            if (key.Epoch <= epoch)
            {
                _unanswered.TryRemove(key, out _);
            }
        }
    }

    public async Task AckAsync(DeliveryHandle d)
    {
        _unanswered.TryRemove((d.Epoch, d.Tag), out _);
        if (d.Epoch != Epoch || !d.Channel.IsOpen)
        {
            return; // The broker already requeued it when the channel went.
        }

        try
        {
            await d.Channel.BasicAckAsync(d.Tag, multiple: false).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or ObjectDisposedException)
        {
            Log.AckFailed(log, d.Tag, e.Message);
        }
    }

    /// <summary>Hands a delivery back to the queue (only on shutdown: every other path answers it).</summary>
    public async Task RequeueAsync(DeliveryHandle d)
    {
        _unanswered.TryRemove((d.Epoch, d.Tag), out _);
        if (d.Epoch != Epoch || !d.Channel.IsOpen)
        {
            return;
        }

        try
        {
            await d.Channel.BasicNackAsync(d.Tag, multiple: false, requeue: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or ObjectDisposedException)
        {
            Log.AckFailed(log, d.Tag, e.Message);
        }
    }

    /// <summary>
    /// Moves a message to the error queue (publisher-confirmed) with the reason in its headers. The
    /// reason and code never quote the message's content; header values are what Folio wrote.
    /// </summary>
    public async Task DeadLetterAsync(ReadOnlyMemory<byte> body, IReadOnlyBasicProperties original, string code, string reason, string? requestId)
    {
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (original.Headers is { } h)
        {
            foreach (var kv in h)
            {
                headers[kv.Key] = kv.Value;
            }
        }

        headers[WireNames.ReasonHeader] = Encoding.UTF8.GetBytes(reason);
        headers[WireNames.ReasonCodeHeader] = Encoding.UTF8.GetBytes(code);
        headers["folio-original-queue"] = Encoding.UTF8.GetBytes(options.RequestQueue);
        headers["folio-worker"] = Encoding.UTF8.GetBytes(workerName);
        if (requestId is not null)
        {
            headers[WireNames.RequestIdHeader] = Encoding.UTF8.GetBytes(requestId);
        }

        var props = new BasicProperties
        {
            Persistent = true,
            ContentType = original.ContentType,
            MessageId = original.MessageId,
            Headers = headers,
        };
        var ch = _publish ?? throw new InvalidOperationException("no publish channel");
        await ch.BasicPublishAsync(string.Empty, options.ErrorQueueName, mandatory: false, props, body).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts consuming a request queue on the current consume channel; returns the consumer tag.
    /// The channel's prefetch is per consumer (basic.qos global=false), so with tiers each tier's
    /// queue may hold up to the prefetch in this worker, and a busy tier never keeps another's
    /// messages from arriving.
    /// </summary>
    public async Task<string> ConsumeAsync(string queue, Func<IChannel, long, BasicDeliverEventArgs, Task> onDelivery)
    {
        var ch = _consume ?? throw new InvalidOperationException("no consume channel");
        var consumer = new AsyncEventingBasicConsumer(ch);
        long epoch = Epoch;
        consumer.ReceivedAsync += (_, ea) =>
        {
            _unanswered[(epoch, ea.DeliveryTag)] = queue;
            return onDelivery(ch, epoch, ea);
        };
        return await ch.BasicConsumeAsync(queue, autoAck: false, consumer).ConfigureAwait(false);
    }

    public async Task CancelConsumerAsync(string tag)
    {
        if (_consume is { IsOpen: true } ch)
        {
            await ch.BasicCancelAsync(tag).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ch in new[] { _consume, _publish })
        {
            if (ch is not null)
            {
                try
                {
                    await ch.CloseAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Closing a channel whose connection is already gone: nothing to do.
                }

                ch.Dispose();
            }
        }

        if (_connection is not null)
        {
            try
            {
                await _connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already closed.
            }

            _connection.Dispose();
        }
    }
}
