using Folio.Client;
using Folio.Client.Batches;
using Folio.Gateway.Options;
using StackExchange.Redis;

namespace Folio.Gateway.Serving;

/// <summary>
/// The gateway's two connections, opened once at start (retried while the servers come up):
/// the SDK's client (publishing with confirms, streaming with XREAD BLOCK, cancels) and a Redis
/// multiplexer for the worker registry and the publish-once markers, and the batch library's own
/// client (FolioBatchClient owns its connections) for the Batch API.
/// </summary>
public sealed class Connections : IAsyncDisposable
{
    private FolioClient? _client;
    private ConnectionMultiplexer? _redis;
    private FolioBatchClient? _batches;

    public FolioClient Client => _client ?? throw new InvalidOperationException("the gateway's connections are opened before it serves");

    public FolioBatchClient Batches => _batches ?? throw new InvalidOperationException("the gateway's connections are opened before it serves");

    public IConnectionMultiplexer Redis => _redis ?? throw new InvalidOperationException("the gateway's connections are opened before it serves");

    public bool IsReady => _redis is { IsConnected: true } && _client is not null && _batches is not null;

    public async Task OpenAsync(GatewayQueueOptions o, ILogger log, TimeSpan giveUpAfter, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + giveUpAfter;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var redisOptions = ConfigurationOptions.Parse(o.RedisConfiguration);
                redisOptions.AbortOnConnectFail = false;
                redisOptions.ClientName ??= "folio-gateway";
                _redis ??= await ConnectionMultiplexer.ConnectAsync(redisOptions).ConfigureAwait(false);
                var clientOptions = new FolioClientOptions
                {
                    RabbitMqUri = o.RabbitMqUri,
                    RedisConfiguration = o.RedisConfiguration,
                    RequestQueue = o.RequestQueue,
                    CancelExchange = o.CancelExchange,
                    StreamPrefix = o.StreamPrefix,
                    PriorityTiers = o.PriorityTiers,
                    MaxLength = o.MaxLength,
                    MaxLengthBytes = o.MaxLengthBytes,
                    ModelExchange = o.ModelExchange.Length == 0 ? null : o.ModelExchange,
                };
                _client ??= await FolioClient.ConnectAsync(clientOptions, ct).ConfigureAwait(false);
                _batches = await FolioBatchClient.ConnectAsync(clientOptions, ct).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && DateTime.UtcNow < deadline)
            {
                Log.ConnectFailed(log, attempt, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)), ct).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_batches is not null)
        {
            await _batches.DisposeAsync().ConfigureAwait(false);
        }

        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
    }
}
