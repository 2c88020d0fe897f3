using Folio.Client;
using Folio.Gateway.Options;
using StackExchange.Redis;

namespace Folio.Gateway.Serving;

/// <summary>
/// The gateway's two connections, opened once at start (retried while the servers come up):
/// the SDK's client (publishing with confirms, streaming with XREAD BLOCK, cancels) and a Redis
/// multiplexer for the worker registry and the publish-once markers.
/// </summary>
public sealed class Connections : IAsyncDisposable
{
    private FolioClient? _client;
    private ConnectionMultiplexer? _redis;

    public FolioClient Client => _client ?? throw new InvalidOperationException("the gateway's connections are opened before it serves");

    public IConnectionMultiplexer Redis => _redis ?? throw new InvalidOperationException("the gateway's connections are opened before it serves");

    public bool IsReady => _redis is { IsConnected: true } && _client is not null;

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
                _client = await FolioClient.ConnectAsync(
                    new FolioClientOptions
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
                    },
                    ct).ConfigureAwait(false);
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
