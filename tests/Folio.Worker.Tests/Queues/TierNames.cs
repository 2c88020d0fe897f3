using Folio.Client;
using Folio.Contracts;
using RabbitMQ.Client;

namespace Folio.Worker.Tests.Queues;

/// <summary>The SDK pointed at a test's own names, and the clean-up of the queues tiers and models add.</summary>
internal static class TierNames
{
    public static Task<FolioClient> ClientAsync(ServersFixture servers, TestNames names, Action<FolioClientOptions>? configure = null)
    {
        var o = new FolioClientOptions
        {
            RabbitMqUri = servers.RabbitUri,
            RedisConfiguration = servers.RedisConfiguration,
            RequestQueue = names.RequestQueue,
            CancelExchange = names.CancelExchange,
            StreamPrefix = names.StreamPrefix,
        };
        configure?.Invoke(o);
        return FolioClient.ConnectAsync(o);
    }

    /// <summary>Deletes the tier queues and the given extra queues and exchanges (the fixture deletes the plain ones).</summary>
    public static async Task DeleteAsync(ServersFixture servers, TestNames names, int tiers, string[]? queues = null, string[]? exchanges = null)
    {
        await using var ch = await servers.Rabbit.CreateChannelAsync();
        for (int t = 0; t < tiers && tiers > 1; t++)
        {
            await ch.QueueDeleteAsync(PriorityTiers.QueueName(names.RequestQueue, t, tiers));
        }

        foreach (string q in queues ?? [])
        {
            await ch.QueueDeleteAsync(q);
        }

        foreach (string e in exchanges ?? [])
        {
            await ch.ExchangeDeleteAsync(e);
        }
    }
}
