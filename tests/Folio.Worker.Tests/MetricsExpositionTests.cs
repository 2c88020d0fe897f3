using Folio.Worker.Engine;
using Folio.Worker.Metrics;
using Folio.Worker.Tests.Support;

namespace Folio.Worker.Tests;

/// <summary>/metrics as prometheus-net writes it: the names dashboards and autoscalers use, each series labelled with its model.</summary>
public sealed class MetricsExpositionTests
{
    /// <summary>Every family the hand-written exposition had (docs/operations.md lists them), none renamed, and the queue series added since.</summary>
    private static readonly string[] Families =
    [
        "folio_num_requests_running", "folio_num_requests_waiting", "folio_num_requests_in_flight", "folio_redis_writable",
        "folio_kv_cache_usage_perc", "folio_kv_cache_free_blocks", "folio_num_preemptions_total", "folio_prompt_tokens_total",
        "folio_generation_tokens_total", "folio_prefix_cache_queries_total", "folio_prefix_cache_hits_total",
        "folio_request_success_total", "folio_request_errors_total", "folio_messages_dead_lettered_total",
        "folio_requests_already_finished_total", "folio_requests_resumed_total", "folio_requests_handed_back_total",
        "folio_requests_expired_total", "folio_requests_reattached_total", "folio_streams_repaired_total",
        "folio_redis_write_failures_total", "folio_time_to_first_token_seconds", "folio_time_per_output_token_seconds",
        "folio_e2e_request_latency_seconds", "folio_request_queue_time_seconds", "folio_redis_write_seconds",
        "folio_queue_messages_ready", "folio_queue_consumers", "folio_queue_messages_unacked",
    ];

    [Fact]
    public void Every_family_keeps_its_name_and_every_series_carries_the_model_name()
    {
        var metrics = new WorkerMetrics("tiny-llama");
        metrics.Finished("stop");
        metrics.Error("internal");
        metrics.GenerationTokens(7);
        metrics.Expired();
        metrics.QueueTime.Observe(0.003);
        string text = metrics.Render(new EngineLoad(2, 3, 0.25, 4, 100, 60, 10, 20, Expired: 1), inFlight: 5, redisHealthy: true);

        var types = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet();
        Assert.Equal(Families.Order(StringComparer.Ordinal), types.Order(StringComparer.Ordinal));
        var samples = text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.All(samples, l => Assert.Contains("model_name=\"tiny-llama\"", l, StringComparison.Ordinal));

        Assert.Equal(3, MetricsText.Sum(text, "folio_num_requests_waiting"));
        Assert.Equal(5, MetricsText.Sum(text, "folio_num_requests_in_flight"));
        Assert.Equal(7, MetricsText.Sum(text, "folio_generation_tokens_total"));
        Assert.Equal(60, MetricsText.Sum(text, "folio_prefix_cache_hits_total"));
        Assert.Equal(2, MetricsText.Sum(text, "folio_requests_expired_total"));
        Assert.Equal(1, MetricsText.Sum(text, "folio_request_queue_time_seconds_count"));
        Assert.Contains(samples, l => l.StartsWith("folio_request_success_total{", StringComparison.Ordinal) && l.Contains("finished_reason=\"stop\"", StringComparison.Ordinal));
        Assert.Contains(samples, l => l.StartsWith("folio_request_queue_time_seconds_bucket{", StringComparison.Ordinal) && l.Contains("le=\"0.005\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
    }
}
