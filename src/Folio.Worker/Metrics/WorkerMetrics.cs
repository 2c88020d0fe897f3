using System.Text;
using Folio.Worker.Engine;
using Prometheus;

namespace Folio.Worker.Metrics;

/// <summary>
/// The worker's Prometheus metrics: vLLM's serving set under the folio_ prefix, plus the queue
/// path's own (dead letters, redeliveries, Redis write time). prometheus-net keeps the values and
/// writes the exposition; each worker has its own registry, so several in one process (tests) stay
/// apart. Every series carries <c>model_name</c> (the served model, as vLLM labels its series), so
/// one Prometheus can tell the workers of several models on one broker apart.
/// </summary>
internal sealed class WorkerMetrics
{
    /// <summary>The label every series carries.</summary>
    public const string ModelLabel = "model_name";

    private static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640];
    private static readonly double[] TokenGapBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
    private static readonly double[] WriteBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();

    // Read from the engine and the runtime at each scrape.
    private readonly Gauge _running;
    private readonly Gauge _waiting;
    private readonly Gauge _inFlight;
    private readonly Gauge _redisWritable;
    private readonly Gauge _kvUsage;
    private readonly Gauge _kvFreeBlocks;
    private readonly Counter _preemptions;
    private readonly Counter _prefixQueries;
    private readonly Counter _prefixHits;
    private readonly Counter _expired;
    private readonly Gauge _queueReady;
    private readonly Gauge _queueConsumers;
    private readonly Gauge _queueUnacked;

    // Counted by the worker as things happen.
    private readonly Counter _promptTokens;
    private readonly Counter _generationTokens;
    private readonly Counter _finished;
    private readonly Counter _errors;
    private readonly Counter _deadLettered;
    private readonly Counter _alreadyFinished;
    private readonly Counter _resumed;
    private readonly Counter _handedBack;
    private readonly Counter _redisWriteFailures;
    private readonly Counter _reattached;
    private readonly Counter _streamsRepaired;
    private long _expiredAtIntake;

    public WorkerMetrics(string modelName)
    {
        // Static labels go on every series of the registry; they must be set before the first metric.
        _registry.SetStaticLabels(new Dictionary<string, string> { [ModelLabel] = modelName });
        var f = Prometheus.Metrics.WithCustomRegistry(_registry);
        _running = f.CreateGauge("folio_num_requests_running", "Sequences the engine is running.");
        _waiting = f.CreateGauge("folio_num_requests_waiting", "Sequences waiting in the engine for KV blocks or a batch slot.");
        _inFlight = f.CreateGauge("folio_num_requests_in_flight", "Deliveries this worker holds unacknowledged.");
        _redisWritable = f.CreateGauge("folio_redis_writable", "1 while Redis accepts this worker's writes, 0 while it refuses them or is unreachable (intake paused).");
        _kvUsage = f.CreateGauge("folio_kv_cache_usage_perc", "Fraction of KV-cache blocks in use (1 = full).");
        _kvFreeBlocks = f.CreateGauge("folio_kv_cache_free_blocks", "Free KV-cache blocks.");
        _preemptions = f.CreateCounter("folio_num_preemptions_total", "Sequences preempted (recomputed later) for lack of KV blocks.");
        _promptTokens = f.CreateCounter("folio_prompt_tokens_total", "Prompt tokens of requests taken.");
        _generationTokens = f.CreateCounter("folio_generation_tokens_total", "Tokens generated and written.");
        _prefixQueries = f.CreateCounter("folio_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.");
        _prefixHits = f.CreateCounter("folio_prefix_cache_hits_total", "Prompt tokens found in the prefix cache.");
        _finished = f.CreateCounter("folio_request_success_total", "Requests finished with done, by finish_reason.", "finished_reason");
        _errors = f.CreateCounter("folio_request_errors_total", "Requests finished with an error entry, by code.", "code");
        _deadLettered = f.CreateCounter("folio_messages_dead_lettered_total", "Messages moved to the error queue.");
        _alreadyFinished = f.CreateCounter("folio_requests_already_finished_total", "Deliveries acknowledged without work because their stream had ended.");
        _resumed = f.CreateCounter("folio_requests_resumed_total", "Deliveries that resumed a stream after another attempt.");
        _handedBack = f.CreateCounter("folio_requests_handed_back_total", "Requests returned to the queue unfinished at shutdown.");
        _expired = f.CreateCounter("folio_requests_expired_total", "Requests whose deadline_ms passed: taken too late (no compute) or while waiting or running (abort, stop_reason deadline).");
        _reattached = f.CreateCounter("folio_requests_reattached_total", "Redeliveries after a broker connection loss that continued the run this worker still held.");
        _streamsRepaired = f.CreateCounter("folio_streams_repaired_total", "Streams rewritten from the worker's memory after Redis lost writes (failover, restart without persistence).");
        _redisWriteFailures = f.CreateCounter("folio_redis_write_failures_total", "Pipelined writes that failed and were retried.");
        _queueReady = f.CreateGauge("folio_queue_messages_ready", "Messages ready in the request queue (the broker's figure for the whole queue: every worker reports the same, aggregate with max).", "queue", "tier");
        _queueConsumers = f.CreateGauge("folio_queue_consumers", "Consumers of the request queue (the broker's figure: aggregate with max).", "queue", "tier");
        _queueUnacked = f.CreateGauge("folio_queue_messages_unacked", "Messages of the request queue delivered to this worker and not yet acknowledged (sum across workers for the queue's).", "queue", "tier");
        TimeToFirstToken = NewHistogram(f, "folio_time_to_first_token_seconds", "Time from delivery to this worker until the first token of the attempt.", LatencyBuckets);
        TimePerOutputToken = NewHistogram(f, "folio_time_per_output_token_seconds", "Mean time between output tokens of a request.", TokenGapBuckets);
        E2eLatency = NewHistogram(f, "folio_e2e_request_latency_seconds", "Time from delivery to the terminal entry.", LatencyBuckets);
        QueueTime = NewHistogram(f, "folio_request_queue_time_seconds", "Time from publish (the timestamp_in_ms header, else the AMQP timestamp, when the publisher set one) to delivery.", LatencyBuckets);
        RedisWrite = NewHistogram(f, "folio_redis_write_seconds", "Duration of one pipelined Redis round trip for an engine step.", WriteBuckets);
    }

    public Histogram TimeToFirstToken { get; }

    public Histogram TimePerOutputToken { get; }

    public Histogram E2eLatency { get; }

    public Histogram QueueTime { get; }

    public Histogram RedisWrite { get; }

    public void PromptTokens(int n) => _promptTokens.Inc(n);

    public void GenerationTokens(int n) => _generationTokens.Inc(n);

    public void Finished(string reason) => _finished.WithLabels(reason).Inc();

    public void Error(string code) => _errors.WithLabels(code).Inc();

    public void DeadLettered() => _deadLettered.Inc();

    public void AlreadyFinished() => _alreadyFinished.Inc();

    public void Resumed() => _resumed.Inc();

    public void HandedBack() => _handedBack.Inc();

    public void RedisWriteFailed() => _redisWriteFailures.Inc();

    public void Reattached() => _reattached.Inc();

    /// <summary>A request taken after its deadline (the engine counts those that expire while waiting or running).</summary>
    public void Expired() => Interlocked.Increment(ref _expiredAtIntake);

    public void StreamRepaired() => _streamsRepaired.Inc();

    /// <summary>Writes the Prometheus text exposition (format 0.0.4) of every metric, after reading the engine's and the runtime's current values.</summary>
    public async Task WriteAsync(Stream to, EngineLoad load, int inFlight, bool redisHealthy, IReadOnlyList<QueueDepth>? queues = null, CancellationToken ct = default)
    {
        Update(load, inFlight, redisHealthy);
        UpdateQueues(queues ?? []);
        await _registry.CollectAndExportAsTextAsync(to, ExpositionFormat.PrometheusText, ct).ConfigureAwait(false);
    }

    /// <summary>The exposition as a string (tests, and readers that want the text at hand).</summary>
    public string Render(EngineLoad load, int inFlight, bool redisHealthy, IReadOnlyList<QueueDepth>? queues = null)
    {
        using var buffer = new MemoryStream();
        // A MemoryStream completes every write synchronously: nothing here waits.
        WriteAsync(buffer, load, inFlight, redisHealthy, queues).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Gauges take the current values; the engine's own running totals move their counters up to them.</summary>
    private void Update(EngineLoad load, int inFlight, bool redisHealthy)
    {
        _running.Set(load.Running);
        _waiting.Set(load.Waiting);
        _inFlight.Set(inFlight);
        _redisWritable.Set(redisHealthy ? 1 : 0);
        _kvUsage.Set(load.KvCacheUsage);
        _kvFreeBlocks.Set(load.FreeBlocks);
        _preemptions.IncTo(load.Preemptions);
        _prefixQueries.IncTo(load.PrefixCacheQueries);
        _prefixHits.IncTo(load.PrefixCacheHits);
        _expired.IncTo(Interlocked.Read(ref _expiredAtIntake) + load.Expired);
    }

    /// <summary>
    /// A queue the broker gave no figures for at this scrape loses its ready and consumer series
    /// rather than showing stale ones (an autoscaler would act on them); this worker's own count is
    /// always known.
    /// </summary>
    private void UpdateQueues(IReadOnlyList<QueueDepth> queues)
    {
        foreach (var q in queues)
        {
            string tier = q.Tier.ToString(System.Globalization.CultureInfo.InvariantCulture);
            SetOrRemove(_queueReady, q.Ready, q.Queue, tier);
            SetOrRemove(_queueConsumers, q.Consumers, q.Queue, tier);
            _queueUnacked.WithLabels(q.Queue, tier).Set(q.Unacknowledged);
        }
    }

    private static void SetOrRemove(Gauge gauge, long? value, string queue, string tier)
    {
        if (value is long v)
        {
            gauge.WithLabels(queue, tier).Set(v);
        }
        else
        {
            gauge.RemoveLabelled(queue, tier);
        }
    }

    private static Histogram NewHistogram(IMetricFactory f, string name, string help, double[] buckets) =>
        f.CreateHistogram(name, help, new HistogramConfiguration { Buckets = buckets });
}
