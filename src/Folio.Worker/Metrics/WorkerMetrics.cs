using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Folio.Worker.Engine;

namespace Folio.Worker.Metrics;

/// <summary>
/// The worker's Prometheus metrics: vLLM's serving set under the folio_ prefix, plus the queue
/// path's own (dead letters, redeliveries, Redis write time).
/// </summary>
internal sealed class WorkerMetrics
{
    private static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640];
    private static readonly double[] TokenGapBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
    private static readonly double[] WriteBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

    private readonly ConcurrentDictionary<string, long> _finished = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _promptTokens;
    private long _generationTokens;
    private long _deadLettered;
    private long _alreadyFinished;
    private long _resumed;
    private long _handedBack;
    private long _redisWriteFailures;
    private long _reattached;
    private long _expiredAtIntake;
    private long _streamsRepaired;

    public Histogram TimeToFirstToken { get; } = new("folio_time_to_first_token_seconds", "Time from delivery to this worker until the first token of the attempt.", LatencyBuckets);

    public Histogram TimePerOutputToken { get; } = new("folio_time_per_output_token_seconds", "Mean time between output tokens of a request.", TokenGapBuckets);

    public Histogram E2eLatency { get; } = new("folio_e2e_request_latency_seconds", "Time from delivery to the terminal entry.", LatencyBuckets);

    public Histogram QueueTime { get; } = new("folio_request_queue_time_seconds", "Time from publish (AMQP timestamp, when the publisher set one) to delivery.", LatencyBuckets);

    public Histogram RedisWrite { get; } = new("folio_redis_write_seconds", "Duration of one pipelined Redis round trip for an engine step.", WriteBuckets);

    public void PromptTokens(int n) => Interlocked.Add(ref _promptTokens, n);

    public void GenerationTokens(int n) => Interlocked.Add(ref _generationTokens, n);

    public void Finished(string reason) => _finished.AddOrUpdate(reason, 1, (_, v) => v + 1);

    public void Error(string code) => _errors.AddOrUpdate(code, 1, (_, v) => v + 1);

    public void DeadLettered() => Interlocked.Increment(ref _deadLettered);

    public void AlreadyFinished() => Interlocked.Increment(ref _alreadyFinished);

    public void Resumed() => Interlocked.Increment(ref _resumed);

    public void HandedBack() => Interlocked.Increment(ref _handedBack);

    public void RedisWriteFailed() => Interlocked.Increment(ref _redisWriteFailures);

    public void Reattached() => Interlocked.Increment(ref _reattached);

    /// <summary>A request taken after its deadline (the engine counts those that expire while waiting or running).</summary>
    public void Expired() => Interlocked.Increment(ref _expiredAtIntake);

    public void StreamRepaired() => Interlocked.Increment(ref _streamsRepaired);

    public string Render(EngineLoad load, int inFlight, bool redisHealthy)
    {
        var sb = new StringBuilder(4096);
        Gauge(sb, "folio_num_requests_running", "Sequences the engine is running.", load.Running);
        Gauge(sb, "folio_num_requests_waiting", "Sequences waiting in the engine for KV blocks or a batch slot.", load.Waiting);
        Gauge(sb, "folio_num_requests_in_flight", "Deliveries this worker holds unacknowledged.", inFlight);
        Gauge(sb, "folio_redis_writable", "1 while Redis accepts this worker's writes, 0 while it refuses them or is unreachable (intake paused).", redisHealthy ? 1 : 0);
        Gauge(sb, "folio_kv_cache_usage_perc", "Fraction of KV-cache blocks in use (1 = full).", load.KvCacheUsage);
        Gauge(sb, "folio_kv_cache_free_blocks", "Free KV-cache blocks.", load.FreeBlocks);
        Counter(sb, "folio_num_preemptions_total", "Sequences preempted (recomputed later) for lack of KV blocks.", load.Preemptions);
        Counter(sb, "folio_prompt_tokens_total", "Prompt tokens of requests taken.", Interlocked.Read(ref _promptTokens));
        Counter(sb, "folio_generation_tokens_total", "Tokens generated and written.", Interlocked.Read(ref _generationTokens));
        Counter(sb, "folio_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.", load.PrefixCacheQueries);
        Counter(sb, "folio_prefix_cache_hits_total", "Prompt tokens found in the prefix cache.", load.PrefixCacheHits);
        Labeled(sb, "folio_request_success_total", "Requests finished with done, by finish_reason.", "finished_reason", _finished);
        Labeled(sb, "folio_request_errors_total", "Requests finished with an error entry, by code.", "code", _errors);
        Counter(sb, "folio_messages_dead_lettered_total", "Messages moved to the error queue.", Interlocked.Read(ref _deadLettered));
        Counter(sb, "folio_requests_already_finished_total", "Deliveries acknowledged without work because their stream had ended.", Interlocked.Read(ref _alreadyFinished));
        Counter(sb, "folio_requests_resumed_total", "Deliveries that resumed a stream after another attempt.", Interlocked.Read(ref _resumed));
        Counter(sb, "folio_requests_handed_back_total", "Requests returned to the queue unfinished at shutdown.", Interlocked.Read(ref _handedBack));
        Counter(sb, "folio_requests_expired_total", "Requests whose deadline_ms passed: taken too late (no compute) or while waiting or running (abort, stop_reason deadline).", Interlocked.Read(ref _expiredAtIntake) + load.Expired);
        Counter(sb, "folio_requests_reattached_total", "Redeliveries after a broker connection loss that continued the run this worker still held.", Interlocked.Read(ref _reattached));
        Counter(sb, "folio_streams_repaired_total", "Streams rewritten from the worker's memory after Redis lost writes (failover, restart without persistence).", Interlocked.Read(ref _streamsRepaired));
        Counter(sb, "folio_redis_write_failures_total", "Pipelined writes that failed and were retried.", Interlocked.Read(ref _redisWriteFailures));
        TimeToFirstToken.Write(sb);
        TimePerOutputToken.Write(sb);
        E2eLatency.Write(sb);
        QueueTime.Write(sb);
        RedisWrite.Write(sb);
        return sb.ToString();
    }

    private static void Gauge(StringBuilder sb, string name, string help, double v) => Sample(sb, name, help, "gauge", v);

    private static void Counter(StringBuilder sb, string name, string help, double v) => Sample(sb, name, help, "counter", v);

    private static void Sample(StringBuilder sb, string name, string help, string type, double v)
    {
        sb.Append("# HELP ").Append(name).Append(' ').AppendLine(help);
        sb.Append("# TYPE ").Append(name).Append(' ').AppendLine(type);
        sb.Append(name).Append(' ').AppendLine(v.ToString("R", CultureInfo.InvariantCulture));
    }

    private static void Labeled(StringBuilder sb, string name, string help, string label, ConcurrentDictionary<string, long> values)
    {
        sb.Append("# HELP ").Append(name).Append(' ').AppendLine(help);
        sb.Append("# TYPE ").Append(name).AppendLine(" counter");
        foreach (var kv in values.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            sb.Append(name).Append('{').Append(label).Append("=\"").Append(kv.Key).Append("\"} ").AppendLine(kv.Value.ToString(CultureInfo.InvariantCulture));
        }
    }
}
