using System.Collections.Concurrent;
using System.Threading.Channels;
using Folio.Contracts;
using Folio.Worker.Engine;
using Folio.Worker.Intake;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Folio.Worker.Output;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Folio.Worker.Hosting;

/// <summary>
/// The worker: RabbitMQ in, engine in the middle, Redis streams out. Split over partial files:
/// this one holds the connections and the life cycle (start, supervise, drain); Intake, Output and
/// Cancel hold the three flows.
/// </summary>
internal sealed partial class WorkerRuntime : IAsyncDisposable
{
    private readonly RabbitMqOptions _rabbit;
    private readonly RedisOptions _redisOptions;
    private readonly LimitsOptions _limitsOptions;
    private readonly WorkerHostOptions _host;
    private readonly IInferenceEngine _engine;
    private readonly WorkerMetrics _metrics;
    private readonly ILogger _log;
    private readonly RequestLimits _limits;
    private readonly ConcurrentDictionary<long, InFlightRequest> _inFlight = new();
    private readonly Channel<SequenceOutput> _localOutputs = Channel.CreateUnbounded<SequenceOutput>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _consumeGate = new(1, 1);
    private long _nextTicket;
    private long _epoch;

    private ConnectionMultiplexer? _redis;
    private StreamStore? _store;
    private IConnection? _connection;
    private IChannel? _consumeChannel;
    private IChannel? _publishChannel;
    private IChannel? _cancelChannel;
    private string? _consumerTag;
    private volatile bool _draining;
    private volatile bool _resubscribe;
    private Task? _pumpTask;
    private Task? _superviseTask;

    public WorkerRuntime(RabbitMqOptions rabbit, RedisOptions redis, LimitsOptions limits, WorkerHostOptions host, IInferenceEngine engine, WorkerMetrics metrics, ILogger log)
    {
        _rabbit = rabbit;
        _redisOptions = redis;
        _limitsOptions = limits;
        _host = host;
        _engine = engine;
        _metrics = metrics;
        _log = log;
        var info = engine.Info;
        _limits = new RequestLimits(info.VocabSize, info.MaxContextTokens, limits.MaxTokens, Math.Min(limits.MaxPromptTokens, info.MaxContextTokens));
        WorkerName = string.IsNullOrEmpty(host.Name) ? $"{SafeName(Environment.MachineName)}-{Environment.ProcessId}" : host.Name;
    }

    public string WorkerName { get; }

    public int InFlightCount => _inFlight.Count;

    public IInferenceEngine Engine => _engine;

    /// <summary>Ready: both servers reachable, consuming (or deliberately paused), not draining.</summary>
    public bool IsReady => !_draining && _connection is { IsOpen: true } && _redis is { IsConnected: true } && _consumeChannel is { IsOpen: true };

    public bool IsDraining => _draining;

    public async Task StartAsync(CancellationToken ct)
    {
        Log.Starting(_log, WorkerName, _engine.Info.ModelName, Redaction.AmqpEndpoint(_rabbit.Uri), Redaction.RedisEndpoints(_redisOptions.Configuration), _rabbit.RequestQueue);
        var redisConfig = ConfigurationOptions.Parse(_redisOptions.Configuration);
        redisConfig.AbortOnConnectFail = false;
        redisConfig.ConnectRetry = 5;
        redisConfig.ClientName ??= "folio-worker";
        _redis = await ConnectionMultiplexer.ConnectAsync(redisConfig).ConfigureAwait(false);
        _store = new StreamStore(_redis, _redisOptions.StreamPrefix, _redisOptions.StreamTtlSeconds);

        _connection = await ConnectRabbitAsync(ct).ConfigureAwait(false);
        if (!await QueueTopology.DeclareAsync(_connection, _rabbit, ct).ConfigureAwait(false))
        {
            Log.QueueArgumentsDiffer(_log, _rabbit.RequestQueue);
        }

        await OpenChannelsAsync(ct).ConfigureAwait(false);
        _pumpTask = Task.Run(() => PumpAsync(_stopping.Token), CancellationToken.None);
        _superviseTask = Task.Run(() => SuperviseAsync(_stopping.Token), CancellationToken.None);
        await UpdateConsumingAsync(force: true).ConfigureAwait(false);
        Log.Started(_log, WorkerName, _engine.Info.MaxNumSeqs);
    }

    private async Task<IConnection> ConnectRabbitAsync(CancellationToken ct)
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri(_rabbit.Uri),
            AutomaticRecoveryEnabled = true,
            // The worker re-declares its topology and re-subscribes itself after a recovery: a
            // consumer recovered by the library would keep the delivery epoch of the lost
            // connection, and its deliveries could never be acknowledged.
            TopologyRecoveryEnabled = false,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
            RequestedHeartbeat = TimeSpan.FromSeconds(20),
            ClientProvidedName = "folio-worker " + WorkerName,
            // Deliveries are taken in parallel: each costs Redis round trips (peek, take), and a burst
            // of requests should reach the engine's next step together, not one by one.
            ConsumerDispatchConcurrency = 8,
        };
        if (factory.Ssl.Enabled && !string.IsNullOrEmpty(_rabbit.TlsServerName))
        {
            factory.Ssl.ServerName = _rabbit.TlsServerName;
        }

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await factory.CreateConnectionAsync(ct).ConfigureAwait(false);
                connection.ConnectionShutdownAsync += (_, e) =>
                {
                    if (e.Initiator != ShutdownInitiator.Application)
                    {
                        Log.RabbitConnectionLost(_log, e.ReplyText);
                    }

                    return Task.CompletedTask;
                };
                connection.RecoverySucceededAsync += (_, _) =>
                {
                    Log.RabbitRecovered(_log);
                    _resubscribe = true;
                    return Task.CompletedTask;
                };
                return connection;
            }
            catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException e) when (!ct.IsCancellationRequested)
            {
                Log.RabbitUnreachable(_log, Redaction.AmqpEndpoint(_rabbit.Uri), attempt, e.InnerException?.Message ?? e.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task OpenChannelsAsync(CancellationToken ct)
    {
        var connection = _connection!;
        if (_publishChannel is not { IsOpen: true })
        {
            _publishChannel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct).ConfigureAwait(false);
        }

        if (_consumeChannel is not { IsOpen: true })
        {
            var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
            // Prefetch: never hold more unacknowledged messages than the engine runs at once.
            await ch.BasicQosAsync(0, (ushort)Math.Clamp(_engine.Info.MaxNumSeqs, 1, ushort.MaxValue), false, ct).ConfigureAwait(false);
            ch.ChannelShutdownAsync += (_, e) => OnConsumeChannelShutdown(e);
            _consumerTag = null;
            _consumeChannel = ch;
        }

        if (_cancelChannel is not { IsOpen: true })
        {
            _cancelChannel = await OpenCancelChannelAsync(connection, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A delivery tag belongs to one incarnation of the channel. When the channel (or the whole
    /// connection) goes, the broker requeues every unacknowledged message; the requests we hold for
    /// them are no longer ours: stop them, write nothing more, and let the redelivery resume them.
    /// </summary>
    private Task OnConsumeChannelShutdown(RabbitMQ.Client.Events.ShutdownEventArgs e)
    {
        long old = Interlocked.Increment(ref _epoch) - 1;
        _consumerTag = null;
        int orphaned = 0;
        foreach (var r in _inFlight.Values)
        {
            if (r.Delivery.Epoch <= old && _inFlight.TryRemove(r.Ticket, out _))
            {
                r.EndProbation();
                _engine.Abort(r.Ticket);
                orphaned++;
            }
        }

        if (!_draining || orphaned > 0)
        {
            Log.ConsumeChannelClosed(_log, e.ReplyCode, e.ReplyText, orphaned);
        }

        return Task.CompletedTask;
    }

    /// <summary>Re-opens channels the broker closed (auto-recovery only covers connection loss) and resumes consuming.</summary>
    private async Task SuperviseAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(500, ct).ConfigureAwait(false);
                if (_connection is { IsOpen: true } && !_draining)
                {
                    if (_resubscribe)
                    {
                        _resubscribe = false;
                        await ResubscribeAsync(ct).ConfigureAwait(false);
                    }

                    await OpenChannelsAsync(ct).ConfigureAwait(false);
                    await UpdateConsumingAsync(force: false).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.SuperviseFailed(_log, e.Message);
            }
        }
    }

    /// <summary>After a connection recovery: the queues may be new (a broker that lost them), the cancel queue is gone.</summary>
    private async Task ResubscribeAsync(CancellationToken ct)
    {
        try
        {
            await QueueTopology.DeclareAsync(_connection!, _rabbit, ct).ConfigureAwait(false);
            if (_cancelChannel is { } old)
            {
                _cancelChannel = null;
                try
                {
                    await old.CloseAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The old channel may already be unusable; a new one replaces it below.
                }

                old.Dispose();
            }
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            _resubscribe = true; // try again on the next round
            throw;
        }
    }

    /// <summary>
    /// Graceful drain: stop taking messages, let in-flight requests finish within the timeout, then
    /// write what the rest generated so far and hand them back to the queue (the next worker resumes
    /// them from the stream). Nothing is lost.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        if (_draining)
        {
            return;
        }

        _draining = true;
        Log.Draining(_log, _inFlight.Count, (int)timeout.TotalSeconds);
        await StopConsumingAsync().ConfigureAwait(false);
        var deadline = DateTime.UtcNow + timeout;
        while (!_inFlight.IsEmpty && DateTime.UtcNow < deadline && _connection is { IsOpen: true })
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await WaitQuietly(_pumpTask).ConfigureAwait(false);
        await WaitQuietly(_superviseTask).ConfigureAwait(false);
        await HandBackAsync().ConfigureAwait(false);
        Log.Drained(_log);
    }

    private async Task HandBackAsync()
    {
        var rest = _inFlight.Values.ToList();
        if (rest.Count == 0)
        {
            return;
        }

        foreach (var r in rest)
        {
            _engine.Abort(r.Ticket);
        }

        try
        {
            // Tokens generated but not yet written: keep them, so the next worker has less to redo.
            var commands = rest.Select(r => r.BuildAppend(includeTerminal: false)).ToList();
            await _store!.AppendBatchAsync(commands).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisWriteFailed(_log, e.Message);
        }

        foreach (var r in rest)
        {
            _inFlight.TryRemove(r.Ticket, out _);
            r.EndProbation();
            await NackAsync(r.Delivery, requeue: true).ConfigureAwait(false);
            _metrics.HandedBack();
        }

        Log.HandedBack(_log, rest.Count);
    }

    private static async Task WaitQuietly(Task? t)
    {
        if (t is null)
        {
            return;
        }

        try
        {
            await t.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await WaitQuietly(_pumpTask).ConfigureAwait(false);
        await WaitQuietly(_superviseTask).ConfigureAwait(false);
        foreach (var ch in new[] { _consumeChannel, _publishChannel, _cancelChannel })
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

        if (_redis is not null)
        {
            await _redis.CloseAsync().ConfigureAwait(false);
            _redis.Dispose();
        }

        _stopping.Dispose();
        _consumeGate.Dispose();
        _suspectGate.Dispose();
    }

    private static string SafeName(string s)
    {
        var chars = s.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(64).ToArray();
        return chars.Length == 0 ? "worker" : new string(chars);
    }
}
