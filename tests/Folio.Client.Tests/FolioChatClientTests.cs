using System.Text.Json;
using Folio.Text.Chat;
using Microsoft.Extensions.AI;
using RabbitMQ.Client;
using StackExchange.Redis;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Folio.Client.Tests;

/// <summary>
/// FolioChatClient against real RabbitMQ and Redis with no worker: the test takes the published
/// request off the queue with plain RabbitMQ.Client and writes the stream a worker would write with
/// plain StackExchange.Redis calls.
/// </summary>
public sealed class FolioChatClientTests : IAsyncLifetime
{
    private readonly string _prefix = "cc" + Guid.NewGuid().ToString("N")[..10];
    private FolioClientOptions _options = null!;
    private FolioClient _client = null!;
    private IConnection _rabbit = null!;
    private ConnectionMultiplexer _redis = null!;
    private int _next;

    public async Task InitializeAsync()
    {
        string uri = RabbitUri;
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

    private FolioChatClient ChatClient(out string requestId)
    {
        var id = $"{_prefix}-{Interlocked.Increment(ref _next)}";
        requestId = id;
        return new FolioChatClient(_client, new FolioChatClientOptions { RequestIdFactory = () => id, DefaultModelId = "demo" });
    }

    private async Task ReconnectAsync()
    {
        _rabbit.Dispose();
        _rabbit = await new ConnectionFactory { Uri = new Uri(RabbitUri) }.CreateConnectionAsync();
    }

    private static string RabbitUri =>
        Environment.GetEnvironmentVariable("FOLIO_TEST_RABBITMQ_URI") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>Waits for the published request and returns it as the worker would read its chat fields.</summary>
    private async Task<(JsonDocument Json, ChatPromptRequest Chat)> TakeRequestAsync()
    {
        for (var i = 0; i < 200; i++)
        {
            BasicGetResult? got;
            bool reconnect = false;
            await using (var ch = await _rabbit.CreateChannelAsync())
            {
                try
                {
                    got = await ch.BasicGetAsync(_options.RequestQueue, autoAck: true);
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
                {
                    got = null; // the client has not declared the queue yet
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 541)
                {
                    // RabbitMQ 3.10 answers a get on a quorum queue whose leader process has not
                    // started yet (just declared, a loaded machine) with INTERNAL_ERROR "noproc",
                    // which closes the connection: open another and ask again.
                    got = null;
                    reconnect = true;
                }
            }

            if (reconnect)
            {
                await ReconnectAsync();
            }

            if (got is not null)
            {
                Assert.Equal("application/json", got.BasicProperties.ContentType);
                Assert.Equal(DeliveryModes.Persistent, got.BasicProperties.DeliveryMode);
                var doc = JsonDocument.Parse(got.Body.ToArray());
                return (doc, ChatRequestJson.Read(doc.RootElement));
            }

            await Task.Delay(25);
        }

        throw new TimeoutException("no request was published");
    }

    private Task WriteAsync(string requestId, params (string Field, string Value)[] fields) =>
        _redis.GetDatabase().StreamAddAsync(_options.StreamPrefix + requestId, fields.Select(f => new NameValueEntry(f.Field, f.Value)).ToArray());

    private async Task WriteTokensAndDoneAsync(string requestId, string[] deltas, string finishReason)
    {
        await WriteAsync(requestId, ("type", "start"), ("worker", "w"), ("attempt", "1"), ("prompt_tokens", "9"), ("resume_index", "0"));
        for (var i = 0; i < deltas.Length; i++)
        {
            await WriteAsync(requestId, ("type", "token"), ("index", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("token_id", "7"), ("text", deltas[i]));
        }

        await WriteAsync(requestId, ("type", "done"), ("finish_reason", finishReason), ("stop_reason", ""), ("prompt_tokens", "9"), ("completion_tokens", deltas.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cached_tokens", "4"), ("text", string.Concat(deltas)), ("ttft_ms", "1"), ("total_ms", "2"));
    }

    [Fact]
    public async Task Streaming_yields_each_tokens_text_then_the_finish_reason_and_usage()
    {
        using var chat = ChatClient(out var requestId);
        var reading = Task.Run(async () =>
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (var u in chat.GetStreamingResponseAsync([new AiChatMessage(ChatRole.User, "Say hi")], new ChatOptions { MaxOutputTokens = 5, Temperature = 0 }, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token))
            {
                updates.Add(u);
            }

            return updates;
        });
        var (json, request) = await TakeRequestAsync();
        Assert.Equal(requestId, json.RootElement.GetProperty("request_id").GetString());
        Assert.Equal(5, json.RootElement.GetProperty("max_tokens").GetInt32());
        Assert.Equal("Say hi", request.Messages.Single().Content);
        await WriteTokensAndDoneAsync(requestId, ["Hel", "", "lo", " ✓"], "length");

        var updates = await reading;
        Assert.Equal(["Hel", "lo", " ✓", ""], updates.Select(u => u.Text));
        Assert.All(updates, u => Assert.Equal(requestId, u.ResponseId));
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        var usage = updates[^1].Contents.OfType<UsageContent>().Single().Details;
        Assert.Equal(9, usage.InputTokenCount);
        Assert.Equal(4, usage.OutputTokenCount); // the token that added no text counts too
        Assert.Equal(4, usage.CachedInputTokenCount);
    }

    [Fact]
    public async Task A_response_carries_the_done_text_the_finish_reason_and_usage()
    {
        using var chat = ChatClient(out var requestId);
        var responding = chat.GetResponseAsync([new AiChatMessage(ChatRole.User, "Count")], cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        await TakeRequestAsync();
        await WriteTokensAndDoneAsync(requestId, ["one", ", two"], "stop");
        var response = await responding;
        Assert.Equal("one, two", response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(requestId, response.ResponseId);
        Assert.Equal("demo", response.ModelId);
        Assert.Equal(11, response.Usage!.TotalTokenCount);
    }

    [Fact]
    public async Task An_error_entry_becomes_an_exception_with_the_contract_code()
    {
        using var chat = ChatClient(out var requestId);
        var responding = chat.GetResponseAsync([new AiChatMessage(ChatRole.User, "x")], cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        await TakeRequestAsync();
        await WriteAsync(requestId, ("type", "error"), ("code", "unsupported"), ("message", "This model has no chat template"));
        var e = await Assert.ThrowsAsync<FolioRequestException>(() => responding);
        Assert.Equal("unsupported", e.Code);
        Assert.Equal(requestId, e.RequestId);
        Assert.Contains("no chat template", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Abandoning_a_stream_publishes_a_cancel_for_its_request()
    {
        // The cancel listener has a connection of its own: taking the request may meet RabbitMQ's
        // "noproc" on a just-declared quorum queue, which closes _rabbit (and would take an
        // exclusive queue on it, with the cancel it is waiting for, along).
        await using var listener = await new ConnectionFactory { Uri = new Uri(RabbitUri) }.CreateConnectionAsync();
        await using var ch = await listener.CreateChannelAsync();
        await ch.ExchangeDeclareAsync(_options.CancelExchange, ExchangeType.Fanout, durable: true);
        var q = await ch.QueueDeclareAsync(string.Empty, durable: false, exclusive: true, autoDelete: true);
        await ch.QueueBindAsync(q.QueueName, _options.CancelExchange, string.Empty);

        using var chat = ChatClient(out var requestId);
        using var cts = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var u in chat.GetStreamingResponseAsync([new AiChatMessage(ChatRole.User, "long story")], cancellationToken: cts.Token))
            {
                await cts.CancelAsync();
            }
        });
        await TakeRequestAsync();
        await WriteAsync(requestId, ("type", "token"), ("index", "0"), ("token_id", "1"), ("text", "Once"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);

        BasicGetResult? got = null;
        for (var i = 0; i < 100 && got is null; i++)
        {
            got = await ch.BasicGetAsync(q.QueueName, autoAck: true);
            await Task.Delay(20);
        }

        Assert.Equal($"{{\"request_id\":\"{requestId}\"}}", System.Text.Encoding.UTF8.GetString(got!.Body.ToArray()));
    }

    [Fact]
    public void Metadata_names_the_provider_and_default_model()
    {
        using var chat = ChatClient(out _);
        var metadata = Assert.IsType<ChatClientMetadata>(((IChatClient)chat).GetService(typeof(ChatClientMetadata)));
        Assert.Equal("folio", metadata.ProviderName);
        Assert.Equal("demo", metadata.DefaultModelId);
        Assert.Same(chat, ((IChatClient)chat).GetService(typeof(IChatClient)));
    }
}
