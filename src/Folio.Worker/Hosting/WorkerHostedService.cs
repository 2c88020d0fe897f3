using Folio.Worker.Engine;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Folio.Worker.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Folio.Worker.Hosting;

/// <summary>Runs the worker inside the generic host: start on start, drain on SIGTERM/Ctrl-C.</summary>
internal sealed class WorkerHostedService(
    IOptions<RabbitMqOptions> rabbit,
    IOptions<RedisOptions> redis,
    IOptions<LimitsOptions> limits,
    IOptions<WorkerHostOptions> host,
    IEngineFactory engineFactory,
    WorkerMetrics metrics,
    RuntimeHolder holder,
    ILogger<WorkerRuntime> log) : IHostedService
{
    private IInferenceEngine? _engine;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _engine = await Task.Run(engineFactory.Create, cancellationToken).ConfigureAwait(false);
            var runtime = new WorkerRuntime(rabbit.Value, redis.Value, limits.Value, host.Value, _engine, metrics, log);
            holder.Runtime = runtime;
            await runtime.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.StartFailed(log, e.Message);
            throw;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (holder.Runtime is { } runtime)
        {
            await runtime.DrainAsync(TimeSpan.FromSeconds(host.Value.DrainTimeoutSeconds)).ConfigureAwait(false);
            await runtime.DisposeAsync().ConfigureAwait(false);
        }

        if (_engine is not null)
        {
            await _engine.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Lets the HTTP endpoints see the runtime once the hosted service has built it.</summary>
internal sealed class RuntimeHolder
{
    public volatile WorkerRuntime? Runtime;
}
