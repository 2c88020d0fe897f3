using System.Text;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Folio.Worker.Tests;

/// <summary>
/// What a publisher and a reader in another language would do, with plain RabbitMQ.Client and
/// StackExchange.Redis calls and no Folio code: publish raw JSON, read the stream with XRANGE.
/// Streams are read from the shared Redis unless the test gives its own (<paramref name="redis"/>).
/// </summary>
internal sealed class ForeignClient(ServersFixture servers, TestNames names, IConnectionMultiplexer? redis = null)
{
    private IConnectionMultiplexer Redis => redis ?? servers.Redis;

    public async Task PublishAsync(string json, string? exchange = null, IDictionary<string, object?>? headers = null)
    {
        await using var ch = await servers.Rabbit.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var props = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent, Headers = headers };
        await ch.BasicPublishAsync(exchange ?? string.Empty, exchange is null ? names.RequestQueue : string.Empty, mandatory: true, props, Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Publishes to a named queue through the default exchange (the test's other queues: tiers, models).</summary>
    public async Task PublishToQueueAsync(string queue, string json)
    {
        await using var ch = await servers.Rabbit.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await ch.BasicPublishAsync(string.Empty, queue, mandatory: true, new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent }, Encoding.UTF8.GetBytes(json));
    }

    public async Task PublishBytesAsync(byte[] body)
    {
        await using var ch = await servers.Rabbit.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await ch.BasicPublishAsync(string.Empty, names.RequestQueue, mandatory: true, new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent }, body);
    }

    public async Task CancelAsync(string requestId)
    {
        await using var ch = await servers.Rabbit.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await ch.BasicPublishAsync(names.CancelExchange, string.Empty, mandatory: false, new BasicProperties { ContentType = "application/json" }, Encoding.UTF8.GetBytes($"{{\"request_id\":\"{requestId}\"}}"));
    }

    /// <summary>Reads the whole stream once.</summary>
    public async Task<List<Dictionary<string, string>>> ReadAsync(string requestId)
    {
        var entries = await Redis.GetDatabase().StreamRangeAsync(names.Stream(requestId), "-", "+");
        return entries.Select(e => e.Values.ToDictionary(v => (string)v.Name!, v => (string)v.Value!)).ToList();
    }

    /// <summary>
    /// Polls until the stream holds a done or error entry. A read that times out or finds no
    /// connection is retried until the deadline, as a reader of a failing-over Redis would: this
    /// client's own connection may still point at a primary that was just killed.
    /// </summary>
    public async Task<List<Dictionary<string, string>>> WaitTerminalAsync(string requestId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            List<Dictionary<string, string>> entries;
            try
            {
                entries = await ReadAsync(requestId);
            }
            catch (Exception e) when ((e is RedisTimeoutException or RedisConnectionException) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
                continue;
            }

            if (entries.Any(e => e["type"] is "done" or "error"))
            {
                // Give a wrongly written trailing entry the chance to show up.
                await Task.Delay(50);
                return await ReadAsync(requestId);
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"stream {names.Stream(requestId)} has no terminal entry after {timeout}; it holds {entries.Count} entries: {string.Join(" | ", entries.Select(e => string.Join(",", e.Select(kv => kv.Key + "=" + kv.Value))))}");
            }

            await Task.Delay(20);
        }
    }

    public async Task<uint> MessageCountAsync(string queue)
    {
        await using var ch = await servers.Rabbit.CreateChannelAsync();
        return (await ch.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    /// <summary>Takes every message from a queue (for the error queue checks).</summary>
    public async Task<List<BasicGetResult>> DrainQueueAsync(string queue)
    {
        await using var ch = await servers.Rabbit.CreateChannelAsync();
        var list = new List<BasicGetResult>();
        while (await ch.BasicGetAsync(queue, autoAck: true) is { } r)
        {
            list.Add(r);
        }

        return list;
    }
}
