using Folio.Worker.Runtime;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Folio.Worker.Tests;

/// <summary>A worker runtime in the test process around a <see cref="FakeEngine"/>, on the test's own queue and keys.</summary>
internal sealed class InProcessWorker : IAsyncDisposable
{
    private bool _disposed;

    private InProcessWorker(WorkerRuntime runtime, FakeEngine engine, WorkerMetrics metrics)
    {
        Runtime = runtime;
        Engine = engine;
        Metrics = metrics;
    }

    public WorkerRuntime Runtime { get; }

    public FakeEngine Engine { get; }

    /// <summary>The runtime's own metrics (what /metrics would render).</summary>
    public WorkerMetrics Metrics { get; }

    /// <param name="log">Where the worker logs (every level); none by default.</param>
    /// <param name="redisConfiguration">Another Redis than the shared one (fault tests start their own).</param>
    /// <param name="redisOptions">Changes to the worker's Folio:Redis (WaitReplicas).</param>
    /// <param name="rabbitOptions">Changes to the worker's Folio:RabbitMq (tiers, bounds, model exchange).</param>
    public static async Task<InProcessWorker> StartAsync(ServersFixture servers, TestNames names, int maxNumSeqs = 8, int stepDelayMs = 5, int maxDeliveries = 5, int ttlSeconds = 3600, int maxTokensCap = 4096, string? name = null, int contextTokens = 512, ILogger? log = null, string? redisConfiguration = null, Action<RabbitMqOptions>? rabbitOptions = null, Action<RedisOptions>? redisOptions = null)
    {
        var engine = new FakeEngine(maxNumSeqs, stepDelayMs, contextTokens);
        var rabbit = new RabbitMqOptions { Uri = servers.RabbitUri, RequestQueue = names.RequestQueue, CancelExchange = names.CancelExchange, MaxDeliveries = maxDeliveries };
        rabbitOptions?.Invoke(rabbit);
        var redis = new RedisOptions { Configuration = redisConfiguration ?? servers.RedisConfiguration, StreamPrefix = names.StreamPrefix, StreamTtlSeconds = ttlSeconds };
        redisOptions?.Invoke(redis);
        var limits = new LimitsOptions { MaxTokens = maxTokensCap, MaxPromptTokens = 400, MaxMessageBytes = MaxMessageBytes };
        var host = new WorkerHostOptions { Name = name ?? "w" + Guid.NewGuid().ToString("N")[..6] };
        var metrics = new WorkerMetrics(engine.Info.ModelName);
        var runtime = new WorkerRuntime(rabbit, redis, limits, host, engine, metrics, log ?? NullLogger.Instance);
        await runtime.StartAsync(CancellationToken.None);
        return new InProcessWorker(runtime, engine, metrics);
    }

    /// <summary>Folio:Limits:MaxMessageBytes of every in-process worker.</summary>
    public const int MaxMessageBytes = 64 * 1024;

    /// <summary>Stops as a crash would: no drain, nothing flushed, no nack; the broker requeues what was unacknowledged.</summary>
    public async Task CrashAsync()
    {
        _disposed = true;
        await Runtime.DisposeAsync();
        await Engine.DisposeAsync();
    }

    /// <summary>
    /// Guarantee 5 seen from outside: once the worker holds nothing, it goes away as a crash would;
    /// an unacknowledged message would then return to the queue.
    /// </summary>
    public async Task AssertEverythingAcknowledgedAsync(ForeignClient client, string queue)
    {
        await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(Runtime.InFlightCount == 0));
        await CrashAsync();
        await Task.Delay(500);
        Assert.Equal(0u, await client.MessageCountAsync(queue));
    }

    public async Task DrainAsync(TimeSpan timeout)
    {
        _disposed = true;
        await Runtime.DrainAsync(timeout);
        await Runtime.DisposeAsync();
        await Engine.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            await DrainAsync(TimeSpan.FromSeconds(5));
        }
    }
}
