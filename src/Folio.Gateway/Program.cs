using System.Threading.RateLimiting;
using Folio.Gateway;
using Folio.Gateway.Auth;
using Folio.Gateway.Batches;
using Folio.Gateway.Models;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Folio.Gateway.Serving;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
GatewayOptions gateway;
GatewayQueueOptions queue;
try
{
    GatewayConfiguration.Apply(builder.Configuration, args, AppContext.BaseDirectory, Directory.GetCurrentDirectory());
    gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
    queue = GatewayQueueOptions.Read(builder.Configuration);
}
catch (Exception e) when (e is FileNotFoundException or InvalidOperationException)
{
    // The binder's message names the key whose value has the wrong type.
    Console.Error.WriteLine("folio gateway: invalid configuration: " + e.Message);
    return 2;
}

// Validated before anything connects or listens; every failure names its key.
var failures = new List<string>();
if (new GatewayOptionsValidator().Validate(null, gateway) is { Failed: true } g)
{
    failures.AddRange(g.Failures);
}

if (new GatewayQueueOptionsValidator().Validate(null, queue) is { Failed: true } q)
{
    failures.AddRange(q.Failures);
}

if (failures.Count > 0)
{
    Console.Error.WriteLine("folio gateway: invalid configuration:");
    foreach (string failure in failures)
    {
        Console.Error.WriteLine("  " + failure);
    }

    return 2;
}

builder.Services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
builder.Services.AddSingleton(Options.Create(queue));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<Connections>();
builder.Services.AddSingleton(sp => sp.GetRequiredService<Connections>().Client);
builder.Services.AddSingleton(sp => sp.GetRequiredService<Connections>().Redis);
builder.Services.AddSingleton<ApiKeyAuthenticator>();
builder.Services.AddSingleton<WorkerDirectory>();
builder.Services.AddSingleton<ModelAccess>();
builder.Services.AddSingleton<RequestSubmitter>();
builder.Services.AddSingleton<StreamFollower>();
builder.Services.AddSingleton<CompletionsEndpoint>();
builder.Services.AddSingleton<ModelsEndpoint>();
builder.Services.AddSingleton<FileStore>();
builder.Services.AddSingleton<BatchStore>();
builder.Services.AddSingleton<BatchService>();
builder.Services.AddSingleton<FilesEndpoint>();
builder.Services.AddSingleton<BatchesEndpoint>();
builder.Services.AddRateLimiter(o => PerKeyRateLimit.Configure(o, gateway.RateLimit));
builder.WebHost.ConfigureKestrel(k =>
{
    k.Limits.MaxRequestBodySize = BodyLimit.ServerLimit(gateway.MaxRequestBodyBytes);
    k.AddServerHeader = false;
});
builder.WebHost.UseUrls(gateway.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss.fff ";
});
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

var app = builder.Build();
var log = app.Services.GetRequiredService<ILogger<CompletionsEndpoint>>();
var connections = app.Services.GetRequiredService<Connections>();
await connections.OpenAsync(queue, log, TimeSpan.FromSeconds(60), CancellationToken.None);
if (gateway.ApiKeys.Count == 0)
{
    Log.Anonymous(log, gateway.Urls);
}

var authenticator = app.Services.GetRequiredService<ApiKeyAuthenticator>();
app.Use(async (context, next) =>
{
    try
    {
        if (context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
        {
            context.Items[Caller.ItemKey] = authenticator.Authenticate(context.Request);
        }

        await next(context);
    }
    catch (OpenAiException e) when (!context.Response.HasStarted)
    {
        await e.WriteResponseAsync(context);
    }
    catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
    {
        Log.Unexpected(log, context.Request.Path, e);
        await new OpenAiException(500, "the gateway failed while serving this request; retry, and tell the operator if it persists", "server_error", null, "internal").WriteResponseAsync(context);
    }
});
app.UseRateLimiter();

var completions = app.Services.GetRequiredService<CompletionsEndpoint>();
var models = app.Services.GetRequiredService<ModelsEndpoint>();
var filesApi = app.Services.GetRequiredService<FilesEndpoint>();
var batchesApi = app.Services.GetRequiredService<BatchesEndpoint>();
var v1 = app.MapGroup("/v1").RequireRateLimiting(PerKeyRateLimit.Policy);
v1.MapPost("/chat/completions", (HttpContext c) => completions.HandleAsync(c, CompletionKind.Chat));
v1.MapPost("/completions", (HttpContext c) => completions.HandleAsync(c, CompletionKind.Text));
v1.MapGet("/models", (HttpContext c) => models.ListAsync(c));
v1.MapGet("/models/{**id}", (HttpContext c, string id) => models.GetAsync(c, id));
v1.MapPost("/files", (HttpContext c) => filesApi.UploadAsync(c));
v1.MapGet("/files/{id}", (HttpContext c, string id) => filesApi.GetAsync(c, id));
v1.MapGet("/files/{id}/content", (HttpContext c, string id) => filesApi.ContentAsync(c, id));
v1.MapPost("/batches", (HttpContext c) => batchesApi.CreateAsync(c));
v1.MapGet("/batches", (HttpContext c) => batchesApi.ListAsync(c));
v1.MapGet("/batches/{id}", (HttpContext c, string id) => batchesApi.GetAsync(c, id));
v1.MapPost("/batches/{id}/cancel", (HttpContext c, string id) => batchesApi.CancelAsync(c, id));
v1.MapFallback((HttpContext c) => new OpenAiException(404, "Unknown request URL: this gateway serves POST /v1/chat/completions, POST /v1/completions, GET /v1/models, the Files API's /v1/files and the Batch API's /v1/batches (see /openapi.json)", OpenAiException.InvalidRequestType, null, "unknown_url").WriteResponseAsync(c));
app.MapGet("/", () => EmbeddedFiles.Result("playground.html", "text/html; charset=utf-8"));
app.MapGet("/openapi.json", () => EmbeddedFiles.Result("openapi.json", "application/json"));
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapGet("/readyz", () => connections.IsReady ? Results.Text("ready") : Results.Text("not ready", statusCode: 503));
app.Lifetime.ApplicationStarted.Register(() =>
{
    foreach (string url in app.Urls)
    {
        Log.Listening(log, url, queue.RequestQueue);
    }
});

try
{
    await app.RunAsync();
}
finally
{
    await connections.DisposeAsync();
}

return 0;
