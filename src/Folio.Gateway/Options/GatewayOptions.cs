namespace Folio.Gateway.Options;

/// <summary>Folio:Gateway: the HTTP face. Every key is validated at start (<see cref="GatewayOptionsValidator"/>).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Folio:Gateway";

    /// <summary>Where Kestrel listens, ';'-separated (http://127.0.0.1:8080 by default: loopback only).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The accepted API keys, stored as SHA-256 hashes (never the keys themselves).</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>
    /// Serve without keys when <see cref="ApiKeys"/> is empty. Off by default: a gateway with no key
    /// configured refuses to start rather than silently serve anyone.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Largest request body accepted; a larger one is answered 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Largest file POST /v1/files accepts (the Batch API's input); a larger one is answered 413.
    /// Files are kept in Redis for Folio:Redis:BatchTtlSeconds, so this bounds Redis memory per upload.
    /// </summary>
    public long MaxFileBytes { get; set; } = 64L << 20;

    /// <summary>max_tokens of a chat request that gives neither max_tokens nor max_completion_tokens (completions default to 16, as OpenAI's do).</summary>
    public int DefaultChatMaxTokens { get; set; } = 512;

    /// <summary>
    /// A streamed reply holds its HTTP headers until the first token or the request's error, at most
    /// this long, so that an error the worker finds (a prompt too long, a feature it lacks) is a real
    /// HTTP status; after it the stream opens and a later error is an SSE error event.
    /// </summary>
    public int StreamHeaderHoldMilliseconds { get; set; } = 10_000;

    /// <summary>How long the live-worker list behind /v1/models and model checks is reused.</summary>
    public int ModelsCacheMilliseconds { get; set; } = 1_000;

    /// <summary>The default per-key rate limit; a key may set its own.</summary>
    public RateLimitOptions RateLimit { get; set; } = new();
}

/// <summary>One accepted API key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A name for logs and rate-limit partitions (never the key).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>SHA-256 of the key's UTF-8 bytes, 64 hex digits (`printf %s "$KEY" | sha256sum`).</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>Models this key may use; empty: all.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>This key's own limit; null: <see cref="GatewayOptions.RateLimit"/>.</summary>
    public int? RequestsPerMinute { get; set; }
}

/// <summary>Folio:Gateway:RateLimit: a token bucket per key (ASP.NET's rate limiter).</summary>
public sealed class RateLimitOptions
{
    /// <summary>Sustained requests per minute per key; 0 turns limiting off.</summary>
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>Requests a key may send at once above the sustained rate (the bucket's size); 0: a tenth of a minute's worth, at least 1.</summary>
    public int Burst { get; set; }
}

/// <summary>
/// Where requests go and replies come from: the worker's own sections (Folio:RabbitMq, Folio:Redis),
/// so that one appsettings.json configures both.
/// </summary>
public sealed class GatewayQueueOptions
{
    public string RabbitMqUri { get; set; } = string.Empty;

    public string RequestQueue { get; set; } = Folio.Contracts.WireNames.RequestQueue;

    public string CancelExchange { get; set; } = Folio.Contracts.WireNames.CancelExchange;

    public string RedisConfiguration { get; set; } = string.Empty;

    public string StreamPrefix { get; set; } = Folio.Contracts.WireNames.StreamPrefix;

    public int StreamTtlSeconds { get; set; } = Folio.Contracts.WireNames.StreamTtlSeconds;

    /// <summary>Folio:Redis:BatchTtlSeconds: how long the Batch API's files, batches and their results are kept (the workers keep batch streams as long).</summary>
    public int BatchTtlSeconds { get; set; } = Folio.Contracts.BatchKeys.DefaultTtlSeconds;

    /// <summary>Folio:RabbitMq:PriorityTiers: the workers' request queue tiers; the gateway publishes a request to its priority's tier.</summary>
    public int PriorityTiers { get; set; } = 1;

    /// <summary>Folio:RabbitMq:MaxLength / MaxLengthBytes: the workers' queue bounds (declared alike; 0: unbounded). A full queue is a 429.</summary>
    public long MaxLength { get; set; }

    public long MaxLengthBytes { get; set; }

    /// <summary>Folio:RabbitMq:ModelExchange: publish through the workers' model exchange (routing key = model); empty: the request queue.</summary>
    public string ModelExchange { get; set; } = string.Empty;

    /// <summary>
    /// Reads Folio:RabbitMq:{Uri,RequestQueue,CancelExchange,PriorityTiers,MaxLength,MaxLengthBytes,ModelExchange}
    /// and Folio:Redis:{Configuration,StreamPrefix,StreamTtlSeconds,BatchTtlSeconds}. A value that is not a number
    /// throws the binder's error, which names the key.
    /// </summary>
    public static GatewayQueueOptions Read(IConfiguration configuration)
    {
        var o = new GatewayQueueOptions();
        var rabbit = configuration.GetSection("Folio:RabbitMq");
        var redis = configuration.GetSection("Folio:Redis");
        o.RabbitMqUri = rabbit["Uri"] ?? o.RabbitMqUri;
        o.RequestQueue = rabbit["RequestQueue"] ?? o.RequestQueue;
        o.CancelExchange = rabbit["CancelExchange"] ?? o.CancelExchange;
        o.RedisConfiguration = redis["Configuration"] ?? o.RedisConfiguration;
        o.StreamPrefix = redis["StreamPrefix"] ?? o.StreamPrefix;
        o.PriorityTiers = rabbit.GetValue("PriorityTiers", o.PriorityTiers);
        o.MaxLength = rabbit.GetValue("MaxLength", o.MaxLength);
        o.MaxLengthBytes = rabbit.GetValue("MaxLengthBytes", o.MaxLengthBytes);
        o.ModelExchange = rabbit["ModelExchange"] ?? o.ModelExchange;
        if (redis["StreamTtlSeconds"] is { } ttl && int.TryParse(ttl, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int seconds))
        {
            o.StreamTtlSeconds = seconds;
        }

        o.BatchTtlSeconds = redis.GetValue("BatchTtlSeconds", o.BatchTtlSeconds);

        return o;
    }
}
