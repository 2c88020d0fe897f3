using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Folio.Gateway.Options;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Folio.Gateway.Tests.Support;

/// <summary>
/// Real servers, real processes: workers and gateways on a queue, cancel exchange and stream prefix
/// of their own (so stacks never see each other's messages), with API keys for the tests.
/// </summary>
public sealed class GatewayStack : IAsyncDisposable
{
    public const string Key = "sk-folio-test-key";
    public const string SlowKey = "sk-folio-slow-key";
    public const string LimitedKey = "sk-folio-limited-key";

    /// <summary>A second name the workers of a chat stack answer to (Folio:Model:Aliases).</summary>
    public const string Alias = "tiny-alias";

    private readonly List<HostProcess> _workers = [];
    private readonly List<HostProcess> _gateways = [];
    private int _workerCount;
    private bool _chatTemplate;

    private GatewayStack(string prefix, ConnectionMultiplexer redis)
    {
        Prefix = prefix;
        Redis = redis;
    }

    public string Prefix { get; }

    public string RequestQueue => Prefix + ".requests";

    public string CancelExchange => Prefix + ".cancel";

    public string StreamPrefix => Prefix + ":stream:";

    public ConnectionMultiplexer Redis { get; }

    public IReadOnlyList<HostProcess> Workers => _workers;

    public IReadOnlyList<HostProcess> Gateways => _gateways;

    public IReadOnlyList<Uri> GatewayUrls { get; private set; } = [];

    public Uri BaseUrl => GatewayUrls[0];

    /// <summary>The model name the workers register (read from /v1/models once they do).</summary>
    public string Model { get; private set; } = string.Empty;

    /// <param name="chatTemplate">Give the workers a ChatML template (and the alias <see cref="Alias"/>), so chat requests are served.</param>
    public static async Task<GatewayStack> StartAsync(int workers = 1, int gateways = 1, string? tag = null, int maxNumSeqs = 4, IDictionary<string, string>? gatewayEnvironment = null, Func<GatewayStack, Task>? beforeGateways = null, bool chatTemplate = false)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var stack = new GatewayStack($"g{Guid.NewGuid():N}"[..11] + (tag is null ? string.Empty : "-" + tag), redis) { _chatTemplate = chatTemplate };
        try
        {
            for (int i = 0; i < workers; i++)
            {
                await stack.AddWorkerAsync(maxNumSeqs);
            }

            if (beforeGateways is not null)
            {
                await beforeGateways(stack);
            }

            for (int i = 0; i < gateways; i++)
            {
                stack._gateways.Add(HostProcess.Start("Folio.Gateway", $"{stack.Prefix}-g{i}", stack.GatewayEnvironment(gatewayEnvironment)));
            }

            var urls = new List<Uri>();
            foreach (var g in stack._gateways)
            {
                urls.Add(await g.GatewayUrlAsync());
            }

            stack.GatewayUrls = urls;
            if (workers > 0)
            {
                stack.Model = await stack.WaitForModelAsync();
            }

            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more worker on the stack's queue and waits until it consumes.</summary>
    public async Task<HostProcess> AddWorkerAsync(int maxNumSeqs = 4)
    {
        string name = $"{Prefix}-w{_workerCount++}";
        var env = new Dictionary<string, string>
        {
            ["Folio__RabbitMq__Uri"] = TestServers.RabbitUri,
            ["Folio__RabbitMq__RequestQueue"] = RequestQueue,
            ["Folio__RabbitMq__CancelExchange"] = CancelExchange,
            ["Folio__Redis__Configuration"] = TestServers.Redis,
            ["Folio__Redis__StreamPrefix"] = StreamPrefix,
            ["Folio__Model__Path"] = TestModel.Path,
            ["Folio__Engine__KvCacheMemory"] = "64MiB",
            ["Folio__Engine__MaxNumSeqs"] = maxNumSeqs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Folio__Engine__Threads"] = "1",
            ["Folio__Worker__HttpPort"] = "-1",
            ["Folio__Worker__Name"] = name,
            ["Folio__Worker__DrainTimeoutSeconds"] = "5",
        };
        if (_chatTemplate)
        {
            env["Folio__Model__ChatTemplate"] = TestModel.ChatTemplatePath;
            env["Folio__Model__Aliases__0"] = Alias;
        }

        var worker = HostProcess.Start("Folio.Worker", name, env);
        _workers.Add(worker);
        await worker.WaitForLineAsync("Consuming");
        return worker;
    }

    public Dictionary<string, string> GatewayEnvironment(IDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Folio__RabbitMq__Uri"] = TestServers.RabbitUri,
            ["Folio__RabbitMq__RequestQueue"] = RequestQueue,
            ["Folio__RabbitMq__CancelExchange"] = CancelExchange,
            ["Folio__Redis__Configuration"] = TestServers.Redis,
            ["Folio__Redis__StreamPrefix"] = StreamPrefix,
            ["Folio__Gateway__Urls"] = "http://127.0.0.1:0",
            ["Folio__Gateway__ModelsCacheMilliseconds"] = "0",
            ["Folio__Gateway__StreamHeaderHoldMilliseconds"] = "5000",
            ["Folio__Gateway__ApiKeys__0__Name"] = "tests",
            ["Folio__Gateway__ApiKeys__0__Sha256"] = ApiKeyHash.Of(Key),
            ["Folio__Gateway__ApiKeys__0__RequestsPerMinute"] = "0",
            ["Folio__Gateway__ApiKeys__1__Name"] = "slow",
            ["Folio__Gateway__ApiKeys__1__Sha256"] = ApiKeyHash.Of(SlowKey),
            ["Folio__Gateway__ApiKeys__1__RequestsPerMinute"] = "2",
            ["Folio__Gateway__ApiKeys__2__Name"] = "limited",
            ["Folio__Gateway__ApiKeys__2__Sha256"] = ApiKeyHash.Of(LimitedKey),
            ["Folio__Gateway__ApiKeys__2__Models__0"] = "some-other-model",
            ["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true",
        };
        foreach (var kv in extra ?? new Dictionary<string, string>())
        {
            env[kv.Key] = kv.Value;
        }

        return env;
    }

    private async Task<string> WaitForModelAsync()
    {
        using var http = Http();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/v1/models"));
            var data = doc.RootElement.GetProperty("data");
            if (data.GetArrayLength() > 0)
            {
                return data[0].GetProperty("id").GetString()!;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("no worker registered within 60 s");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>An HttpClient on gateway <paramref name="gateway"/> with the test key (or <paramref name="key"/>; empty: none).</summary>
    public HttpClient Http(int gateway = 0, string? key = Key)
    {
        var http = new HttpClient { BaseAddress = GatewayUrls[gateway], Timeout = TimeSpan.FromMinutes(3) };
        if (!string.IsNullOrEmpty(key))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The request's stream as Redis holds it now.</summary>
    public async Task<StackExchange.Redis.StreamEntry[]> ReadStreamAsync(string requestId) =>
        await Redis.GetDatabase().StreamRangeAsync(StreamPrefix + requestId, "-", "+");

    /// <summary>Waits until the request's stream ends (done or error); returns every entry.</summary>
    public async Task<StackExchange.Redis.StreamEntry[]> WaitForTerminalAsync(string requestId, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var entries = await ReadStreamAsync(requestId);
            if (entries.Length > 0 && (string?)entries[^1]["type"] is "done" or "error")
            {
                return entries;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{requestId} had no terminal entry within {seconds} s ({entries.Length} entries)");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _gateways.Concat(_workers))
        {
            await p.DisposeAsync();
        }

        try
        {
            await using var rabbit = await new ConnectionFactory { Uri = new Uri(TestServers.RabbitUri) }.CreateConnectionAsync();
            await using var ch = await rabbit.CreateChannelAsync();
            await ch.QueueDeleteAsync(RequestQueue);
            await ch.QueueDeleteAsync(RequestQueue + "_error");
            await ch.ExchangeDeleteAsync(CancelExchange);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.RabbitMQClientException or RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            // Nothing was declared (a stack that failed early).
        }

        await Redis.DisposeAsync();
    }
}

/// <summary>One worker and one gateway shared by the tests of the "gateway stack" collection.</summary>
public sealed class SharedStack : IAsyncLifetime
{
    public GatewayStack Stack { get; private set; } = null!;

    public async Task InitializeAsync() => Stack = await GatewayStack.StartAsync(workers: 1, gateways: 1, tag: "shared", chatTemplate: true);

    public async Task DisposeAsync() => await Stack.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SharedStackCollection : ICollectionFixture<SharedStack>
{
    public const string Name = "gateway stack";
}
