using System.Diagnostics;
using Folio.Contracts;
using Folio.Worker.Engine;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Folio.Worker.Output;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Folio.Worker.Runtime;

/// <summary>
/// The worker: RabbitMQ in, engine in the middle, Redis streams out. This class only composes and
/// runs the parts, each with one job: <see cref="BrokerSession"/> (connection and channels),
/// <see cref="IntakeConsumer"/> (deliveries in), <see cref="OutputPump"/> (tokens out, acks),
/// <see cref="CancelListener"/> (the second input), <see cref="InFlightLedger"/> (what is held) and
/// <see cref="RedisGate"/> (Redis health). Its own loop supervises: it re-opens what the broker
/// closed and keeps consumption matched to what the engine and Redis can take.
/// </summary>
internal sealed class WorkerRuntime : IAsyncDisposable
{
    /// <summary>How long a request whose delivery was lost keeps running, waiting for the broker to bring it back here.</summary>
    private static readonly TimeSpan OrphanGrace = TimeSpan.FromSeconds(30);

    private readonly RabbitMqOptions _rabbit;
    private readonly RedisOptions _redisOptions;
    private readonly LimitsOptions _limitsOptions;
    private readonly WorkerHostOptions _host;
    private readonly IInferenceEngine _engine;
    private readonly WorkerMetrics _metrics;
    private readonly ILogger _log;
    private readonly InFlightLedger _ledger = new();
    private readonly RedisGate _redisGate;
    private readonly CancellationTokenSource _stopping = new();
    private readonly BrokerSession _broker;
    private readonly QueueDepthProbe _queueProbe;
    private ConnectionMultiplexer? _redis;
    private StreamStore? _store;
    private OutputPump? _pump;
    private IntakeConsumer? _intake;
    private CancelListener? _cancel;
    private volatile bool _draining;
    private Task? _pumpTask;
    private Task? _superviseTask;
    private WorkerRegistration? _registration;

    public WorkerRuntime(RabbitMqOptions rabbit, RedisOptions redis, LimitsOptions limits, WorkerHostOptions host, IInferenceEngine engine, WorkerMetrics metrics, ILogger log)
    {
        _rabbit = rabbit;
        _redisOptions = redis;
        _limitsOptions = limits;
        _host = host;
        _engine = engine;
        _metrics = metrics;
        _log = log;
        WorkerName = string.IsNullOrEmpty(host.Name) ? $"{SafeName(Environment.MachineName)}-{Environment.ProcessId}" : host.Name;
        _redisGate = new RedisGate(log, TimeSpan.FromSeconds(30));
        string[] modelNames = [engine.Info.ModelName, .. engine.Info.Aliases ?? []];
        // With tiers each tier's consumer holds a few more than the engine runs (a quarter more, at
        // least 2), so a tier whose requests all run still has some waiting for admission while the
        // broker sends the next ones, and the tier rule sees every tier that has work.
        int prefetch = engine.Info.MaxNumSeqs + (rabbit.PriorityTiers > 1 ? Math.Max(2, engine.Info.MaxNumSeqs / 4) : 0);
        _broker = new BrokerSession(rabbit, WorkerName, (ushort)Math.Clamp(prefetch, 1, ushort.MaxValue), modelNames, log);
        _broker.ConsumeChannelLost += OnConsumeChannelLost;
        _queueProbe = new QueueDepthProbe(_broker, rabbit.TierQueues(), maxAge: TimeSpan.FromSeconds(1), timeout: TimeSpan.FromSeconds(2), log);
    }

    public string WorkerName { get; }

    public int InFlightCount => _ledger.Count;

    public IInferenceEngine Engine => _engine;

    /// <summary>The port of the broker node this worker is connected to now (0 when not connected): which node of a cluster it uses.</summary>
    public int BrokerPort => _broker.Connection is { IsOpen: true } c ? c.Endpoint.Port : 0;

    /// <summary>Ready: both servers reachable and Redis accepting writes, consuming (or deliberately paused), not draining.</summary>
    public bool IsReady => !_draining && _broker.IsOpen && _redis is { IsConnected: true } && _redisGate.Healthy;

    public bool IsDraining => _draining;

    /// <summary>Whether the last Redis call succeeded (for /metrics).</summary>
    public bool RedisHealthy => _redisGate.Healthy;

    /// <summary>Every request queue's ready messages and consumers (the broker's) and this worker's unacknowledged deliveries, for /metrics.</summary>
    public Task<IReadOnlyList<QueueDepth>> ReadQueueDepthsAsync(CancellationToken ct) => _queueProbe.ReadAsync(ct);

    public async Task StartAsync(CancellationToken ct)
    {
        Log.Starting(_log, WorkerName, _engine.Info.ModelName, Redaction.AmqpEndpoint(_rabbit.Uri), Redaction.RedisEndpoints(_redisOptions.Configuration), _rabbit.RequestQueue);
        var redisConfig = ConfigurationOptions.Parse(_redisOptions.Configuration);
        redisConfig.AbortOnConnectFail = false;
        redisConfig.ConnectRetry = 5;
        redisConfig.ClientName ??= "folio-worker";
        _redis = await ConnectionMultiplexer.ConnectAsync(redisConfig).ConfigureAwait(false);
        _store = new StreamStore(_redis, _redisOptions.StreamPrefix, _redisOptions.StreamTtlSeconds, _redisOptions.BatchTtlSeconds) { ReplicaWait = ReplicaWait.For(_redis, _redisOptions) };
        await CheckRedisAsync().ConfigureAwait(false);

        var info = _engine.Info;
        var limits = new RequestLimits(info.VocabSize, info.MaxModelLen, _limitsOptions.MaxTokens, Math.Min(_limitsOptions.MaxPromptTokens, info.MaxModelLen));
        _pump = new OutputPump(_engine, _ledger, _store, _redisGate, _broker, _metrics, _log, WorkerName, OrphanGrace);
        _intake = new IntakeConsumer(_broker, _store, _redisGate, _engine, _ledger, _pump, limits, _rabbit, _limitsOptions, _host, WorkerName, _metrics, _log, _stopping.Token);
        _cancel = new CancelListener(_rabbit, _ledger, _engine, _store, _redisGate, _log);
        _pump.AfterRound = () => _intake.UpdateConsumingAsync(force: false);
        _ledger.AfterRemove = _intake.AdmitWaiting;

        await _broker.ConnectAsync(ct).ConfigureAwait(false);
        await _cancel.EnsureOpenAsync(_broker.Connection!, reopen: false, ct).ConfigureAwait(false);
        _pumpTask = Task.Run(() => _pump.RunAsync(_stopping.Token), CancellationToken.None);
        _superviseTask = Task.Run(() => SuperviseAsync(_stopping.Token), CancellationToken.None);
        await _intake.UpdateConsumingAsync(force: true).ConfigureAwait(false);
        Log.Started(_log, WorkerName, info.MaxNumSeqs);
        _registration = WorkerRegistration.Start(_redis, _redisOptions.StreamPrefix, WorkerName, _rabbit.RequestQueue, info, _log);
    }

    /// <summary>One round trip at start, so a wrong password or an unreachable Redis is reported now, not at the first request.</summary>
    private async Task CheckRedisAsync()
    {
        try
        {
            await _store!.PingAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (RedisGate.Classify(e) != RedisFailure.None)
        {
            _redisGate.ReportFailure(e);
        }
    }

    /// <summary>
    /// The consume channel went: the broker requeued every unacknowledged delivery. The requests
    /// keep running here for a while; if the broker brings one back to this worker it continues
    /// without a recompute, if another worker takes it this one is fenced off at its next write.
    /// </summary>
    private void OnConsumeChannelLost(long oldEpoch)
    {
        long now = Stopwatch.GetTimestamp();
        int orphaned = 0;
        foreach (var r in _ledger.All)
        {
            if (!r.DeliveryLost && r.Delivery.Epoch <= oldEpoch)
            {
                r.LoseDelivery(now);
                orphaned++;
                if (_store is { } store)
                {
                    // Not a crash: whoever takes it next is not charged a start.
                    _ = DetachQuietlyAsync(store, r);
                }
            }
        }

        if (!_draining || orphaned > 0)
        {
            Log.ConsumeChannelClosed(_log, orphaned);
        }
    }

    private async Task DetachQuietlyAsync(StreamStore store, InFlightRequest r)
    {
        try
        {
            await store.DetachAsync(r.Keys, r.Owner).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisGate.Classify(e) != RedisFailure.None)
        {
            _redisGate.ReportFailure(e);
        }
    }

    /// <summary>Re-opens channels the broker closed (auto-recovery only covers connection loss) and keeps consumption matched to capacity.</summary>
    private async Task SuperviseAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(500, ct).ConfigureAwait(false);
                if (_broker.Connection is not { IsOpen: true } connection || _draining)
                {
                    continue;
                }

                bool recovered = _broker.TakeRecoveredFlag();
                if (recovered)
                {
                    // The broker may have lost the queues; the cancel queue is gone with the old connection.
                    await _broker.RedeclareAsync(ct).ConfigureAwait(false);
                }

                await _broker.EnsureChannelsAsync(ct).ConfigureAwait(false);
                await _cancel!.EnsureOpenAsync(connection, recovered, ct).ConfigureAwait(false);
                await _intake!.UpdateConsumingAsync(force: false).ConfigureAwait(false);
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
        Log.Draining(_log, _ledger.Count, (int)timeout.TotalSeconds);
        if (_intake is not null)
        {
            await _intake.StopAsync().ConfigureAwait(false);
        }

        var deadline = DateTime.UtcNow + timeout;
        while (!_ledger.IsEmpty && DateTime.UtcNow < deadline && _broker.Connection is { IsOpen: true })
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await WaitQuietly(_pumpTask).ConfigureAwait(false);
        await WaitQuietly(_superviseTask).ConfigureAwait(false);
        if (_pump is not null)
        {
            await _pump.HandBackAsync().ConfigureAwait(false);
        }

        Log.Drained(_log);
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
        if (_registration is not null)
        {
            await _registration.DisposeAsync().ConfigureAwait(false);
        }

        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await WaitQuietly(_pumpTask).ConfigureAwait(false);
        await WaitQuietly(_superviseTask).ConfigureAwait(false);
        if (_cancel is not null)
        {
            await _cancel.DisposeAsync().ConfigureAwait(false);
        }

        await _queueProbe.DisposeAsync().ConfigureAwait(false);
        await _broker.DisposeAsync().ConfigureAwait(false);
        if (_redis is not null)
        {
            await _redis.CloseAsync().ConfigureAwait(false);
            _redis.Dispose();
        }

        _intake?.Dispose();
        _stopping.Dispose();
    }

    private static string SafeName(string s)
    {
        var chars = s.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(64).ToArray();
        return chars.Length == 0 ? "worker" : new string(chars);
    }
}
