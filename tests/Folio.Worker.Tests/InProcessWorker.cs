using Folio.Worker.Runtime;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Microsoft.Extensions.Logging.Abstractions;

namespace Folio.Worker.Tests;

/// <summary>A worker runtime in the test process around a <see cref="FakeEngine"/>, on the test's own queue and keys.</summary>
internal sealed class InProcessWorker : IAsyncDisposable
{
    private bool _disposed;

    private InProcessWorker(WorkerRuntime runtime, FakeEngine engine)
    {
        Runtime = runtime;
        Engine = engine;
    }

    public WorkerRuntime Runtime { get; }

    public FakeEngine Engine { get; }

    public WorkerMetrics Metrics { get; } = new();

    public static async Task<InProcessWorker> StartAsync(ServersFixture servers, TestNames names, int maxNumSeqs = 8, int stepDelayMs = 5, int maxDeliveries = 5, int ttlSeconds = 3600, int maxTokensCap = 4096, string? name = null, int contextTokens = 512)
    {
        var engine = new FakeEngine(maxNumSeqs, stepDelayMs, contextTokens);
        var rabbit = new RabbitMqOptions { Uri = servers.RabbitUri, RequestQueue = names.RequestQueue, CancelExchange = names.CancelExchange, MaxDeliveries = maxDeliveries };
        var redis = new RedisOptions { Configuration = servers.RedisConfiguration, StreamPrefix = names.StreamPrefix, StreamTtlSeconds = ttlSeconds };
        var limits = new LimitsOptions { MaxTokens = maxTokensCap, MaxPromptTokens = 400, MaxMessageBytes = 64 * 1024 };
        var host = new WorkerHostOptions { Name = name ?? "w" + Guid.NewGuid().ToString("N")[..6] };
        var runtime = new WorkerRuntime(rabbit, redis, limits, host, engine, new WorkerMetrics(), NullLogger.Instance);
        await runtime.StartAsync(CancellationToken.None);
        return new InProcessWorker(runtime, engine);
    }

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
