using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Folio.Contracts;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Folio.Client;

/// <summary>
/// Submit requests to Folio workers, stream their output, cancel them. Thread-safe; keep one per
/// application. Streaming uses XREAD BLOCK, which holds a Redis connection while it waits, so each
/// stream being read borrows a dedicated connection from a small pool.
/// </summary>
public sealed class FolioClient : IAsyncDisposable
{
    private readonly FolioClientOptions _options;
    private readonly IConnection _rabbit;
    private readonly ConnectionMultiplexer _redis;
    private readonly ConcurrentBag<ConnectionMultiplexer> _blockingPool = [];
    private readonly SemaphoreSlim _publishLock = new(1, 1);
    private IChannel? _publishChannel;
    private bool _declared;

    private FolioClient(FolioClientOptions options, IConnection rabbit, ConnectionMultiplexer redis)
    {
        _options = options;
        _rabbit = rabbit;
        _redis = redis;
    }

    public static async Task<FolioClient> ConnectAsync(FolioClientOptions options, CancellationToken cancellationToken = default)
    {
        if (StreamKeyNames.PrefixProblem(options.StreamPrefix) is { } prefixProblem)
        {
            throw new ArgumentException("FolioClientOptions.StreamPrefix " + prefixProblem, nameof(options));
        }

        // One URI or a cluster's nodes separated by commas: connect to the first that answers, recover through all.
        var nodes = BrokerUris.Parse(options.RabbitMqUri, nameof(FolioClientOptions.RabbitMqUri));
        var factory = new ConnectionFactory { Uri = nodes[0], AutomaticRecoveryEnabled = true, ClientProvidedName = "folio-client" };
        var endpoints = nodes.Select(u => new AmqpTcpEndpoint(u, new SslOption(u.Host, enabled: u.Scheme == "amqps"))).ToList();
        var rabbit = await factory.CreateConnectionAsync(endpoints, cancellationToken).ConfigureAwait(false);
        var redis = await ConnectionMultiplexer.ConnectAsync(RedisOptions(options.RedisConfiguration)).ConfigureAwait(false);
        return new FolioClient(options, rabbit, redis);
    }

    private static ConfigurationOptions RedisOptions(string configuration)
    {
        var c = ConfigurationOptions.Parse(configuration);
        c.AbortOnConnectFail = false;
        return c;
    }

    /// <summary>Publishes a request (persistent, application/json, publisher-confirmed) to the queue its priority and model choose. Returns its request id.</summary>
    public Task<string> SubmitAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return PublishAsync(request.RequestId, RequestSerializer.ToUtf8Json(request), request.Priority, request.Model, cancellationToken);
    }

    /// <summary>Publishes a request given as raw JSON (validated by the worker, not here).</summary>
    /// <remarks>
    /// Returns once the broker confirmed the message. Publishes from several threads run at once on
    /// one channel (the client tracks each confirm by sequence number), so a busy caller such as the
    /// gateway does not wait for others' confirms. Throws <see cref="QueueFullException"/> when the
    /// broker rejects the message (a bounded queue with <c>x-overflow: reject-publish</c> is full),
    /// <see cref="ModelNotRoutedException"/> when the model exchange has no queue for the request's
    /// model, and <see cref="RequestNotRoutedException"/> when no queue took it. With tiers or a
    /// model exchange, the JSON's top-level <c>priority</c> and <c>model</c> choose where it goes.
    /// </remarks>
    public Task<string> SubmitRawAsync(string requestId, ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken = default)
    {
        var (priority, model) = _options.PriorityTiers > 1 || !string.IsNullOrEmpty(_options.ModelExchange)
            ? RouteFields.Read(utf8Json.Span)
            : (0, null);
        return PublishAsync(requestId, utf8Json, priority, model, cancellationToken);
    }

    /// <summary>Where a request goes: the model exchange when it names a model and one is configured, else its tier's queue.</summary>
    internal static (string Exchange, string RoutingKey) Route(FolioClientOptions options, int priority, string? model)
    {
        int tiers = Math.Max(1, options.PriorityTiers);
        int tier = PriorityTiers.TierOf(priority, tiers);
        return !string.IsNullOrEmpty(options.ModelExchange) && model is not null
            ? (options.ModelExchange, PriorityTiers.ModelRoutingKey(model, tier, tiers))
            : (string.Empty, PriorityTiers.QueueName(options.RequestQueue, tier, tiers));
    }

    private async Task<string> PublishAsync(string requestId, ReadOnlyMemory<byte> utf8Json, int priority, string? model, CancellationToken cancellationToken)
    {
        var ch = await LockedPublishChannelAsync(cancellationToken).ConfigureAwait(false);
        var (exchange, routingKey) = Route(_options, priority, model);
        using var publish = PublishTracing.StartPublish(requestId, exchange, routingKey);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var props = new BasicProperties
        {
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = requestId,
            Timestamp = new AmqpTimestamp(now / 1000),
            // The millisecond publish time (the worker's queue time) and the trace context (docs/contract.md, "Message headers").
            Headers = PublishTracing.Headers(publish, now),
        };
        try
        {
            await ch.BasicPublishAsync(exchange, routingKey, mandatory: true, props, utf8Json, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (PublishTracing.MarkFailed(publish, e))
        {
            throw; // Never reached: the filter only records the failure on the span and declines.
        }
        catch (RabbitMQ.Client.Exceptions.PublishException e) when (e.IsReturn && exchange.Length > 0)
        {
            throw new ModelNotRoutedException(exchange, model!, e);
        }
        catch (RabbitMQ.Client.Exceptions.PublishException e) when (e.IsReturn)
        {
            throw new RequestNotRoutedException(routingKey, e);
        }
        catch (RabbitMQ.Client.Exceptions.PublishException e)
        {
            // A nack: the queue is bounded (reject-publish) and full. With a model exchange the
            // queue is the one the model's workers declared; its name is the routing key's target.
            throw new QueueFullException(exchange.Length > 0 ? $"{routingKey} (via {exchange})" : routingKey, e);
        }

        return requestId;
    }

    /// <summary>The publish channel, opened (and the queue declared) under the lock; publishing itself needs no lock.</summary>
    private async Task<IChannel> LockedPublishChannelAsync(CancellationToken cancellationToken)
    {
        if (_publishChannel is { IsOpen: true } open && (_declared || !_options.DeclareQueue))
        {
            return open;
        }

        await _publishLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await PublishChannelAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _publishLock.Release();
        }
    }

    /// <summary>Asks the worker holding the request (or the one that takes it later) to stop it; it ends with finish_reason abort.</summary>
    public async Task CancelAsync(string requestId, CancellationToken cancellationToken = default)
    {
        if (!RequestIdRules.IsValid(requestId))
        {
            throw new ArgumentException($"request_id must be {RequestIdRules.Description}", nameof(requestId));
        }

        await _publishLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var ch = await PublishChannelAsync(cancellationToken).ConfigureAwait(false);
            byte[] body = Encoding.UTF8.GetBytes($"{{\"request_id\":\"{requestId}\"}}");
            await ch.BasicPublishAsync(_options.CancelExchange, string.Empty, mandatory: false, new BasicProperties { ContentType = "application/json" }, body, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _publishLock.Release();
        }
    }

    /// <summary>
    /// The request's stream from the start (or after <paramref name="afterId"/>), entry by entry,
    /// until its done or error entry. A token entry whose index is at or below the highest already
    /// yielded is skipped (docs/contract.md: after Redis lost entries the worker writes them again),
    /// so each index comes once. Waits with XREAD BLOCK; never ends on its own before the
    /// terminal entry, so pass a cancellation token for a deadline.
    /// </summary>
    public async IAsyncEnumerable<StreamEntry> StreamAsync(string requestId, string afterId = "0-0", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        RedisKey key = StreamKeyNames.Stream(_options.StreamPrefix, requestId);
        var conn = await RentBlockingAsync().ConfigureAwait(false);
        // A read abandoned by cancellation is still blocking on the server: a connection with one
        // pending would make its next borrower wait up to BlockInterval behind it, so it is closed
        // instead of going back to the pool.
        bool readPending = false;
        try
        {
            var db = conn.GetDatabase();
            string last = afterId;
            int highest = -1;
            int blockMs = (int)Math.Max(1, _options.BlockInterval.TotalMilliseconds);
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                readPending = true;
                var result = await db.ExecuteAsync("XREAD", "COUNT", 512, "BLOCK", blockMs, "STREAMS", key, last).WaitAsync(cancellationToken).ConfigureAwait(false);
                readPending = false;
                if (result.IsNull)
                {
                    continue;
                }

                foreach (var entry in ParseXRead(result))
                {
                    last = entry.Id;
                    if (entry.Index is { } index)
                    {
                        // A token at or below the highest index read is a rewrite after Redis lost
                        // entries (a failover or a restart): same index, same text, already yielded.
                        if (index <= highest)
                        {
                            continue;
                        }

                        highest = index;
                    }

                    yield return entry;
                    if (entry.IsTerminal)
                    {
                        yield break;
                    }
                }
            }
        }
        finally
        {
            if (readPending)
            {
                conn.Dispose();
            }
            else
            {
                _blockingPool.Add(conn);
            }
        }
    }

    /// <summary>The stream as it is now (XRANGE), without waiting.</summary>
    public async Task<IReadOnlyList<StreamEntry>> ReadAsync(string requestId)
    {
        var entries = await _redis.GetDatabase().StreamRangeAsync(StreamKeyNames.Stream(_options.StreamPrefix, requestId), "-", "+").ConfigureAwait(false);
        return entries.Select(e => new StreamEntry(e.Id!, e.Values.ToDictionary(v => (string)v.Name!, v => (string?)v.Value ?? string.Empty, StringComparer.Ordinal))).ToList();
    }

    /// <summary>Streams the request and returns its terminal entry, with the text it accumulated.</summary>
    public async Task<StreamEntry> WaitAsync(string requestId, CancellationToken cancellationToken = default)
    {
        await foreach (var e in StreamAsync(requestId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (e.IsTerminal)
            {
                return e;
            }
        }

        throw new InvalidOperationException("the stream ended without a terminal entry");
    }

    /// <summary>
    /// XREAD's reply: RESP2 [[key, [[id, [field, value, ...]], ...]]], or under RESP3 a map
    /// {key: [[id, [field, value, ...]], ...]}.
    /// </summary>
    internal static IEnumerable<StreamEntry> ParseXRead(RedisResult result)
    {
        var top = (RedisResult[])result!;
        var entryLists = new List<RedisResult>();
        if (result.Resp3Type == ResultType.Map)
        {
            for (int i = 1; i < top.Length; i += 2)
            {
                entryLists.Add(top[i]);
            }
        }
        else
        {
            foreach (var stream in top)
            {
                entryLists.Add(((RedisResult[])stream!)[1]);
            }
        }

        foreach (var list in entryLists)
        {
            foreach (var item in (RedisResult[])list!)
            {
                var pair = (RedisResult[])item!;
                var flat = (RedisResult[])pair[1]!;
                var fields = new Dictionary<string, string>(flat.Length / 2, StringComparer.Ordinal);
                for (int i = 0; i + 1 < flat.Length; i += 2)
                {
                    fields[(string)flat[i]!] = (string?)flat[i + 1] ?? string.Empty;
                }

                yield return new StreamEntry((string)pair[0]!, fields);
            }
        }
    }

    private async Task<ConnectionMultiplexer> RentBlockingAsync()
    {
        if (_blockingPool.TryTake(out var c))
        {
            return c;
        }

        var options = RedisOptions(_options.RedisConfiguration);
        options.SyncTimeout = Math.Max(options.SyncTimeout, (int)_options.BlockInterval.TotalMilliseconds + 5000);
        options.AsyncTimeout = Math.Max(options.AsyncTimeout, (int)_options.BlockInterval.TotalMilliseconds + 5000);
        return await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
    }

    private async Task<IChannel> PublishChannelAsync(CancellationToken ct)
    {
        if (_publishChannel is not { IsOpen: true })
        {
            _publishChannel = await _rabbit.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct).ConfigureAwait(false);
        }

        if (_options.DeclareQueue && !_declared)
        {
            await DeclareAsync(ct).ConfigureAwait(false);
            _declared = true;
        }

        return _publishChannel;
    }

    /// <summary>
    /// The queues the workers declare, with the same arguments (docs/contract.md), so that a submit
    /// before any worker started is kept: the error queue, the cancel exchange, every tier's queue
    /// (and with tiers the plain one), and the model exchange when configured (the workers bind it).
    /// </summary>
    private async Task DeclareAsync(CancellationToken ct)
    {
        string errorQueue = _options.RequestQueue + WireNames.ErrorQueueSuffix;
        try
        {
            await using var ch = await _rabbit.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
            await ch.QueueDeclareAsync(errorQueue, durable: true, exclusive: false, autoDelete: false, arguments: RequestQueueArguments.ErrorQueue(), cancellationToken: ct).ConfigureAwait(false);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            // A classic error queue an older Folio declared: it exists, which is all a publisher needs.
        }

        await using (var ch = await _rabbit.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            await ch.ExchangeDeclareAsync(_options.CancelExchange, ExchangeType.Fanout, durable: true, cancellationToken: ct).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(_options.ModelExchange))
            {
                await ch.ExchangeDeclareAsync(_options.ModelExchange, ExchangeType.Direct, durable: true, cancellationToken: ct).ConfigureAwait(false);
            }
        }

        int tiers = Math.Max(1, _options.PriorityTiers);
        var queues = Enumerable.Range(0, tiers).Select(t => PriorityTiers.QueueName(_options.RequestQueue, t, tiers)).ToList();
        if (tiers > 1)
        {
            queues.Add(_options.RequestQueue);
        }

        var arguments = RequestQueueArguments.Build(errorQueue, maxLength: _options.MaxLength, maxLengthBytes: _options.MaxLengthBytes);
        foreach (string queue in queues)
        {
            try
            {
                // Its own channel: a refused declaration closes the channel it was made on.
                await using var ch = await _rabbit.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
                await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: ct).ConfigureAwait(false);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
            {
                // Declared by a worker configured with other arguments: it exists, which is all a
                // publisher needs, unless this client was told a bound the queue does not have.
                string? arg = QueueDeclareMismatch.ArgumentOf(e.ShutdownReason.ReplyText);
                bool boundDiffers = arg is "x-max-length" or "x-max-length-bytes" or "x-overflow";
                if (boundDiffers && (_options.MaxLength > 0 || _options.MaxLengthBytes > 0))
                {
                    throw new QueueDeclarationException(QueueDeclareMismatch.Explain(queue, e.ShutdownReason.ReplyText, SettingOf), e);
                }
            }
        }
    }

    /// <summary>The client option that decides a queue argument.</summary>
    private static string? SettingOf(string queueArgument) => queueArgument switch
    {
        "x-max-length" => "FolioClientOptions.MaxLength (folio: --max-length)",
        "x-max-length-bytes" => "FolioClientOptions.MaxLengthBytes (folio: --max-length-bytes)",
        "x-overflow" => "FolioClientOptions.MaxLength and MaxLengthBytes (0 for an unbounded queue)",
        _ => null,
    };

    public async ValueTask DisposeAsync()
    {
        if (_publishChannel is not null)
        {
            await _publishChannel.DisposeAsync().ConfigureAwait(false);
        }

        await _rabbit.CloseAsync().ConfigureAwait(false);
        _rabbit.Dispose();
        while (_blockingPool.TryTake(out var c))
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }

        await _redis.DisposeAsync().ConfigureAwait(false);
        _publishLock.Dispose();
    }
}
