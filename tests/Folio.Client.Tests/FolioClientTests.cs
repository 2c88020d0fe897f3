using System.Text;
using Folio.Contracts;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Folio.Client.Tests;

/// <summary>
/// The SDK against real RabbitMQ and Redis, checked with plain RabbitMQ.Client and
/// StackExchange.Redis calls on the other side (no worker involved). Servers come from
/// FOLIO_TEST_RABBITMQ_URI / FOLIO_TEST_REDIS; a server that does not answer fails the test.
/// </summary>
public sealed class FolioClientTests : IAsyncLifetime
{
    private readonly string _prefix = "c" + Guid.NewGuid().ToString("N")[..10];
    private FolioClientOptions _options = null!;
    private FolioClient _client = null!;
    private IConnection _rabbit = null!;
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        string uri = Environment.GetEnvironmentVariable("FOLIO_TEST_RABBITMQ_URI") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";
        string redis = Environment.GetEnvironmentVariable("FOLIO_TEST_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6379";
        _options = new FolioClientOptions
        {
            RabbitMqUri = uri,
            RedisConfiguration = redis,
            RequestQueue = _prefix + ".requests",
            CancelExchange = _prefix + ".cancel",
            StreamPrefix = _prefix + ":stream:",
            BlockInterval = TimeSpan.FromMilliseconds(200),
        };
        _rabbit = await new ConnectionFactory { Uri = new Uri(uri) }.CreateConnectionAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync(redis);
        _client = await FolioClient.ConnectAsync(_options);
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await using (var ch = await _rabbit.CreateChannelAsync())
        {
            await ch.QueueDeleteAsync(_options.RequestQueue);
            await ch.QueueDeleteAsync(_options.RequestQueue + "_error");
            await ch.ExchangeDeleteAsync(_options.CancelExchange);
        }

        await _rabbit.CloseAsync();
        _rabbit.Dispose();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Submit_publishes_persistent_json_that_parses_back_to_the_request()
    {
        var request = new GenerationRequest { RequestId = "sdk-1", Prompt = "héllo", MaxTokens = 7, Seed = 3, Stop = ["\n"] };
        await _client.SubmitAsync(request);
        await using var ch = await _rabbit.CreateChannelAsync();
        var got = await ch.BasicGetAsync(_options.RequestQueue, autoAck: true);
        Assert.NotNull(got);
        Assert.Equal("application/json", got!.BasicProperties.ContentType);
        Assert.Equal(DeliveryModes.Persistent, got.BasicProperties.DeliveryMode);
        var parsed = RequestParser.Parse(got.Body.ToArray()).Request!;
        Assert.Equal("sdk-1", parsed.RequestId);
        Assert.Equal("héllo", parsed.Prompt);
        Assert.Equal(7, parsed.MaxTokens);
        Assert.Equal(3, parsed.Seed);
        Assert.Equal(["\n"], parsed.Stop);
    }

    /// <summary>After a failover lost entries the worker writes them again (docs/contract.md, "Redis keys, Redis Cluster and failover").</summary>
    [Fact]
    public async Task Stream_skips_token_entries_at_or_below_the_highest_index_it_yielded()
    {
        var db = _redis.GetDatabase();
        string key = _options.StreamPrefix + "sdk-rewritten";
        await db.StreamAddAsync(key, [new("type", "start"), new("worker", "w"), new("attempt", "1"), new("prompt_tokens", "2"), new("resume_index", "0")]);
        foreach (var (index, text) in (ValueTuple<int, string>[])[(0, "a"), (1, "b"), (2, "c"), (1, "b"), (2, "c"), (3, "d")])
        {
            await db.StreamAddAsync(key, [new("type", "token"), new("index", index), new("token_id", 10 + index), new("text", text)]);
        }

        await db.StreamAddAsync(key, [new("type", "done"), new("finish_reason", "length"), new("text", "abcd")]);
        var tokens = new List<StreamEntry>();
        await foreach (var e in _client.StreamAsync("sdk-rewritten", cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token))
        {
            if (e.Index is not null)
            {
                tokens.Add(e);
            }
        }

        Assert.Equal([0, 1, 2, 3], tokens.Select(t => t.Index!.Value));
        Assert.Equal("abcd", string.Concat(tokens.Select(t => t.Fields["text"])));
    }

    [Fact]
    public async Task Stream_yields_entries_in_order_as_they_are_written_and_stops_at_done()
    {
        var db = _redis.GetDatabase();
        string key = _options.StreamPrefix + "sdk-2";
        await db.StreamAddAsync(key, [new("type", "start"), new("worker", "w"), new("attempt", "1"), new("prompt_tokens", "2"), new("resume_index", "0")]);
        var reading = Task.Run(async () =>
        {
            var list = new List<StreamEntry>();
            await foreach (var e in _client.StreamAsync("sdk-2", cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token))
            {
                list.Add(e);
            }

            return list;
        });
        await Task.Delay(300); // the reader is now blocked in XREAD
        await db.StreamAddAsync(key, [new("type", "token"), new("index", "0"), new("token_id", "5"), new("text", "Hi")]);
        await db.StreamAddAsync(key, [new("type", "done"), new("finish_reason", "length"), new("text", "Hi")]);
        await db.StreamAddAsync(key, [new("type", "token"), new("index", "1"), new("token_id", "6"), new("text", "never read")]);
        var entries = await reading;
        Assert.Equal(["start", "token", "done"], entries.Select(e => e.Type));
        Assert.Equal(0, entries[1].Index);
        Assert.Equal(5, entries[1].TokenId);
        Assert.Equal("length", entries[2].FinishReason);
    }

    [Fact]
    public async Task Cancel_publishes_the_request_id_to_the_fanout_exchange()
    {
        await using var ch = await _rabbit.CreateChannelAsync();
        await ch.ExchangeDeclareAsync(_options.CancelExchange, ExchangeType.Fanout, durable: true);
        var q = await ch.QueueDeclareAsync(string.Empty, durable: false, exclusive: true, autoDelete: true);
        await ch.QueueBindAsync(q.QueueName, _options.CancelExchange, string.Empty);
        await _client.CancelAsync("sdk-3");
        BasicGetResult? got = null;
        for (int i = 0; i < 50 && got is null; i++)
        {
            got = await ch.BasicGetAsync(q.QueueName, autoAck: true);
            await Task.Delay(20);
        }

        Assert.Equal("{\"request_id\":\"sdk-3\"}", Encoding.UTF8.GetString(got!.Body.ToArray()));
    }

    [Fact]
    public async Task Cancel_rejects_an_unusable_request_id() =>
        await Assert.ThrowsAsync<ArgumentException>(() => _client.CancelAsync("not valid!"));
}
