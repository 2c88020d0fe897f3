using Folio.Client;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;
using StackExchange.Redis;

namespace Folio.Gateway.Serving;

/// <summary>
/// Publishes contract requests (publisher-confirmed) and cancels. A request whose id the client
/// chose (Folio-Request-Id) is published at most once: a marker key in Redis, set with NX beside the
/// stream, tells any gateway that it already went out, and a second POST with the same id only
/// reads the stream. That marker is the only state, and it lives in Redis: no gateway holds any.
/// </summary>
public sealed class RequestSubmitter(FolioClient client, IConnectionMultiplexer redis, IOptions<GatewayQueueOptions> queue)
{
    private readonly GatewayQueueOptions _queue = queue.Value;

    // In the stream's hash slot (a hash tag of the stream key), like every key of one request.
    private RedisKey Marker(string requestId) => Folio.Contracts.StreamKeyNames.GatewayMarker(_queue.StreamPrefix, requestId);

    /// <summary>Publishes, or (for a client-chosen id already published) does nothing; returns whether it published.</summary>
    public async Task<bool> SubmitAsync(TranslatedRequest request, bool clientChosenId, CancellationToken ct)
    {
        if (clientChosenId)
        {
            bool first = await redis.GetDatabase().StringSetAsync(Marker(request.RequestId), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), TimeSpan.FromSeconds(_queue.StreamTtlSeconds), When.NotExists).ConfigureAwait(false);
            if (!first)
            {
                return false;
            }
        }

        try
        {
            await client.SubmitRawAsync(request.RequestId, request.ContractJson, ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (clientChosenId && e is QueueFullException or RequestNotRoutedException or ModelNotRoutedException or BrokerUnreachableException or AlreadyClosedException or OperationInterruptedException)
        {
            // Nothing went out: a retry with the same id must publish.
            await redis.GetDatabase().KeyDeleteAsync(Marker(request.RequestId)).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Publishes a cancel for the request (docs/contract.md section 3); the worker ends it within one engine step.</summary>
    public Task CancelAsync(string requestId, CancellationToken ct) => client.CancelAsync(requestId, ct);
}
