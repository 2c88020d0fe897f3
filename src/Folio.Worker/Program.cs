using System.Net;
using Folio.Worker;
using Folio.Worker.Engine;
using Folio.Worker.Hosting;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Folio.Worker.Runtime;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
try
{
    WorkerConfiguration.Apply(builder.Configuration, args, AppContext.BaseDirectory, Directory.GetCurrentDirectory());
}
catch (FileNotFoundException e)
{
    Console.Error.WriteLine("folio worker: " + e.Message);
    return 2;
}

var config = builder.Configuration;

void AddOptions<T, TValidator>(string section)
    where T : class
    where TValidator : class, IValidateOptions<T>
{
    builder.Services.AddOptions<T>().Bind(config.GetSection(section)).ValidateOnStart();
    builder.Services.AddSingleton<IValidateOptions<T>, TValidator>();
}

AddOptions<RabbitMqOptions, RabbitMqOptionsValidator>(RabbitMqOptions.Section);
AddOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.Section);
AddOptions<ModelOptions, ModelOptionsValidator>(ModelOptions.Section);
AddOptions<EngineOptions, EngineOptionsValidator>(EngineOptions.Section);
AddOptions<LimitsOptions, LimitsOptionsValidator>(LimitsOptions.Section);
AddOptions<WorkerHostOptions, WorkerHostOptionsValidator>(WorkerHostOptions.Section);
AddOptions<TelemetryOptions, TelemetryOptionsValidator>(TelemetryOptions.Section);
builder.Services.AddFolioTracing(config.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions());

var hostOptions = config.GetSection(WorkerHostOptions.Section).Get<WorkerHostOptions>() ?? new WorkerHostOptions();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(0, hostOptions.DrainTimeoutSeconds) + 20));
// Every series carries the served model's name (model_name), known from configuration before the engine loads.
builder.Services.AddSingleton(sp => new WorkerMetrics(sp.GetRequiredService<IOptions<ModelOptions>>().Value.ServedName));
builder.Services.AddSingleton<RuntimeHolder>();
builder.Services.AddSingleton<IEngineFactory, EngineFactory>();
builder.Services.AddHostedService<WorkerHostedService>();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss.fff ";
});
// One line per scrape of /metrics is noise at Information.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
bool listen = hostOptions.HttpPort != -1;
if (listen)
{
    // Validated at start (Folio:Worker:HttpBindAddress); an invalid value fails there with its key named.
    builder.WebHost.ConfigureKestrel(k =>
    {
        int port = Math.Max(0, hostOptions.HttpPort);
        switch (hostOptions.HttpBindAddress)
        {
            case "*":
                k.ListenAnyIP(port);
                break;
            case "localhost":
                k.ListenLocalhost(port);
                break;
            default:
                if (IPAddress.TryParse(hostOptions.HttpBindAddress, out var address))
                {
                    k.Listen(address, port);
                }

                break;
        }
    });
}
else
{
    builder.Services.AddSingleton<IServer, NoListenerServer>();
}

var app = builder.Build();
var holder = app.Services.GetRequiredService<RuntimeHolder>();
var metrics = app.Services.GetRequiredService<WorkerMetrics>();
app.MapGet("/metrics", async (HttpContext context) =>
{
    var runtime = holder.Runtime;
    context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
    var queues = runtime is null ? [] : await runtime.ReadQueueDepthsAsync(context.RequestAborted);
    await metrics.WriteAsync(context.Response.Body, runtime?.Engine.Load ?? default, runtime?.InFlightCount ?? 0, runtime?.RedisHealthy ?? false, queues, context.RequestAborted);
});
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapGet("/readyz", () => holder.Runtime is { IsReady: true } ? Results.Text("ready") : Results.Text("not ready", statusCode: 503));
app.Lifetime.ApplicationStarted.Register(() =>
{
    var log = app.Services.GetRequiredService<ILogger<WorkerRuntime>>();
    if (!listen)
    {
        Log.NotListening(log);
        return;
    }

    foreach (var url in app.Urls)
    {
        Log.Listening(log, url);
    }
});

try
{
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException || (e is AggregateException a && a.InnerExceptions.All(i => i is OptionsValidationException)))
{
    // Configuration errors name the key to fix; print them plainly, without a stack trace.
    Console.Error.WriteLine("folio worker: invalid configuration:");
    var failures = e is AggregateException agg ? agg.InnerExceptions.Cast<OptionsValidationException>().SelectMany(x => x.Failures) : ((OptionsValidationException)e).Failures;
    foreach (var failure in failures)
    {
        Console.Error.WriteLine("  " + failure);
    }

    return 2;
}
