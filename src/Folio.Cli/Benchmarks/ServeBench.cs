using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Folio.Cli.Progress;
using Folio.Client;
using Folio.Contracts;
using RabbitMQ.Client;

namespace Folio.Cli.Benchmarks;

/// <summary>What `folio bench serve` runs against: one worker and one gateway it starts itself, on queue names of its own.</summary>
public sealed record ServeBenchSetup(
    FolioClientOptions Connection,
    string WorkerDll,
    string GatewayDll,
    string ModelPath,
    int MaxNumSeqs,
    int Threads,
    string KvCacheMemory);

/// <summary>
/// Serving through the gateway against publishing to the queue directly, like vLLM's serving
/// benchmark: the same Poisson workload (same arrivals, lengths and seeds) sent both ways to the same
/// worker, alternating per rate. The direct path publishes with the SDK and reads the Redis stream
/// (XREAD BLOCK per request), which is what the gateway does inside, so the difference is what HTTP,
/// the OpenAI translation and SSE add.
/// </summary>
public sealed partial class ServeBench(ServeBenchSetup setup, IProgressDisplay progress) : IAsyncDisposable
{
    private readonly string _prefix = "serve" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<Process> _processes = [];
    private FolioClient? _client;
    private HttpClient? _http;
    private string _model = string.Empty;
    private int _run;

    private FolioClientOptions Names => new()
    {
        RabbitMqUri = setup.Connection.RabbitMqUri,
        RedisConfiguration = setup.Connection.RedisConfiguration,
        RequestQueue = _prefix + ".requests",
        CancelExchange = _prefix + ".cancel",
        StreamPrefix = _prefix + ":stream:",
        BlockInterval = TimeSpan.FromSeconds(2),
    };

    /// <summary>Starts the worker and the gateway, waits until the model is listed, and warms both paths.</summary>
    public async Task StartAsync(int vocabSize, CancellationToken ct)
    {
        var n = Names;
        var common = new Dictionary<string, string>
        {
            ["Folio__RabbitMq__Uri"] = n.RabbitMqUri,
            ["Folio__RabbitMq__RequestQueue"] = n.RequestQueue,
            ["Folio__RabbitMq__CancelExchange"] = n.CancelExchange,
            ["Folio__Redis__Configuration"] = n.RedisConfiguration,
            ["Folio__Redis__StreamPrefix"] = n.StreamPrefix,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var worker = new Dictionary<string, string>(common)
        {
            ["Folio__Model__Path"] = setup.ModelPath,
            ["Folio__Engine__MaxNumSeqs"] = setup.MaxNumSeqs.ToString(CultureInfo.InvariantCulture),
            ["Folio__Engine__Threads"] = setup.Threads.ToString(CultureInfo.InvariantCulture),
            ["Folio__Engine__KvCacheMemory"] = setup.KvCacheMemory,
            ["Folio__Worker__HttpPort"] = "-1",
            ["Folio__Worker__Name"] = _prefix + "-w0",
        };
        var gateway = new Dictionary<string, string>(common)
        {
            ["Folio__Gateway__Urls"] = "http://127.0.0.1:0",
            ["Folio__Gateway__AllowAnonymous"] = "true",
            ["Folio__Gateway__RateLimit__RequestsPerMinute"] = "0",
            ["Logging__LogLevel__Folio.Gateway.Serving.CompletionsEndpoint"] = "Information",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning",
        };
        Start(setup.WorkerDll, "worker", worker, quiet: true);
        string? url = null;
        var gw = Start(setup.GatewayDll, "gateway", gateway, quiet: false, onLine: l =>
        {
            if (ListeningLine().Match(l) is { Success: true } m)
            {
                url = m.Groups[1].Value;
            }
        });
        _client = await FolioClient.ConnectAsync(n, ct);
        var deadline = Stopwatch.GetTimestamp() + (180 * Stopwatch.Frequency);
        while (url is null)
        {
            Check(deadline, "the gateway did not start listening within 180 s");
            await Task.Delay(100, ct);
        }

        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10), MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(10) };
        while (_model.Length == 0)
        {
            Check(deadline, "no worker registered its model within 180 s");
            using var doc = JsonDocument.Parse(await _http.GetStringAsync("/v1/models", ct));
            if (doc.RootElement.GetProperty("data") is { } data && data.GetArrayLength() > 0)
            {
                _model = data[0].GetProperty("id").GetString()!;
            }
            else
            {
                await Task.Delay(200, ct);
            }
        }

        // Untimed warm-up of both paths (JIT, connections, the worker's first wide steps).
        var warm = ServeBenchWorkload.Draw(setup.MaxNumSeqs, double.PositiveInfinity, 16, 8, vocabSize, 999);
        await RunDirectAsync(warm, double.PositiveInfinity, ct);
        await RunGatewayAsync(warm, double.PositiveInfinity, ct);
    }

    private void Check(long deadline, string message)
    {
        if (_processes.FirstOrDefault(p => p.HasExited) is { } dead)
        {
            throw new InvalidOperationException($"a process of the bench exited with code {dead.ExitCode} (see its output above)");
        }

        if (Stopwatch.GetTimestamp() > deadline)
        {
            throw new TimeoutException(message);
        }
    }

    private Process Start(string dll, string name, Dictionary<string, string> env, bool quiet, Action<string>? onLine = null)
    {
        var psi = new ProcessStartInfo("dotnet", [dll]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var kv in env)
        {
            psi.Environment[kv.Key] = kv.Value;
        }

        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + dll);
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } l)
            {
                return;
            }

            onLine?.Invoke(l);
            if (l.Contains("fail", StringComparison.Ordinal) || l.Contains("crit", StringComparison.Ordinal) || (!quiet && l.Contains("warn", StringComparison.Ordinal)))
            {
                progress.Note($"[{name}] {l}");
            }
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) progress.Note($"[{name}] {l}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    /// <summary>Publishes each request at its arrival time with the SDK and reads its stream.</summary>
    public async Task<ServeBenchResult> RunDirectAsync(IReadOnlyList<ServeBenchRequest> workload, double rate, CancellationToken ct)
    {
        var client = _client!;
        string tag = $"d{_run++}";
        var traces = workload.Select(_ => new ServeBenchTrace()).ToArray();
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAll(workload.Select(async r =>
        {
            await WaitUntilAsync(start, r.ArrivalSeconds, ct);
            var trace = traces[r.Index];
            string id = $"{tag}-{r.Index.ToString(CultureInfo.InvariantCulture)}";
            trace.SentAt = Stopwatch.GetTimestamp();
            await client.SubmitAsync(ServeBenchWorkload.ToContract(r, id), ct);
            await foreach (var e in client.StreamAsync(id, cancellationToken: ct))
            {
                if (e.Type == EntryTypes.Token)
                {
                    trace.TokenTimes.Add(Stopwatch.GetTimestamp());
                }
                else if (e.Type == EntryTypes.Error)
                {
                    trace.Failed = true;
                }
            }
        }));
        return ServeBenchResult.From("direct (queue)", rate, traces, start, Stopwatch.GetTimestamp());
    }

    /// <summary>Posts each request at its arrival time to the gateway's /v1/completions (stream) and reads its SSE events.</summary>
    public async Task<ServeBenchResult> RunGatewayAsync(IReadOnlyList<ServeBenchRequest> workload, double rate, CancellationToken ct)
    {
        var http = _http!;
        var traces = workload.Select(_ => new ServeBenchTrace()).ToArray();
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAll(workload.Select(async r =>
        {
            await WaitUntilAsync(start, r.ArrivalSeconds, ct);
            var trace = traces[r.Index];
            using var content = new StringContent(ServeBenchWorkload.ToOpenAiJson(r, _model), System.Text.Encoding.UTF8, "application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = content };
            trace.SentAt = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                trace.Failed = true;
                return;
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                if (line.Contains("\"finish_reason\":null", StringComparison.Ordinal))
                {
                    trace.TokenTimes.Add(Stopwatch.GetTimestamp());
                }
                else if (line.Contains("\"error\":", StringComparison.Ordinal))
                {
                    trace.Failed = true;
                }
            }
        }));
        return ServeBenchResult.From("gateway (HTTP)", rate, traces, start, Stopwatch.GetTimestamp());
    }

    private static async Task WaitUntilAsync(long start, double seconds, CancellationToken ct)
    {
        var wait = TimeSpan.FromSeconds(seconds) - Stopwatch.GetElapsedTime(start);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        foreach (var p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }

            p.WaitForExit(5000);
            p.Dispose();
        }

        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(setup.Connection.RabbitMqUri) }.CreateConnectionAsync();
            await using var ch = await connection.CreateChannelAsync();
            await ch.QueueDeleteAsync(Names.RequestQueue);
            await ch.QueueDeleteAsync(Names.RequestQueue + WireNames.ErrorQueueSuffix);
            await ch.ExchangeDeleteAsync(Names.CancelExchange);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.RabbitMQClientException or RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            progress.Note("bench serve: could not delete the run's queues: " + e.Message);
        }
    }

    [GeneratedRegex(@"Gateway listening on (http://[^;\s]+);")]
    private static partial Regex ListeningLine();
}
