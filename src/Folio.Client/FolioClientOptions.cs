using Folio.Contracts;

namespace Folio.Client;

/// <summary>Where the client publishes and reads. Defaults match the worker's.</summary>
public sealed class FolioClientOptions
{
    /// <summary>amqp://user:pass@host:5672/ (amqps:// for TLS).</summary>
    public string RabbitMqUri { get; set; } = "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>A StackExchange.Redis configuration string.</summary>
    public string RedisConfiguration { get; set; } = "127.0.0.1:6379";

    public string RequestQueue { get; set; } = WireNames.RequestQueue;

    public string CancelExchange { get; set; } = WireNames.CancelExchange;

    public string StreamPrefix { get; set; } = WireNames.StreamPrefix;

    /// <summary>Declare the request queue (same arguments as the worker) before the first submit, so a submit before any worker started is kept.</summary>
    public bool DeclareQueue { get; set; } = true;

    /// <summary>
    /// Request queue tiers, as the workers' Folio:RabbitMq:PriorityTiers (1: the one RequestQueue).
    /// With N &gt; 1 a request goes to RequestQueue.p{tier}, its tier chosen by its priority
    /// (<see cref="PriorityTiers.TierOf"/>). Must match the workers: a publisher with fewer tiers
    /// puts everything in the default tier.
    /// </summary>
    public int PriorityTiers { get; set; } = 1;

    /// <summary>x-max-length the request queues are declared with (0: unbounded), as the workers' Folio:RabbitMq:MaxLength.</summary>
    public long MaxLength { get; set; }

    /// <summary>x-max-length-bytes the request queues are declared with (0: unbounded), as the workers' Folio:RabbitMq:MaxLengthBytes.</summary>
    public long MaxLengthBytes { get; set; }

    /// <summary>
    /// Several models on one broker: the direct exchange (Folio:RabbitMq:ModelExchange, e.g.
    /// folio.models) a request naming a <c>model</c> is published to, with the model name as routing
    /// key (<see cref="PriorityTiers.ModelRoutingKey"/>). Empty: requests go to RequestQueue.
    /// </summary>
    public string? ModelExchange { get; set; }

    /// <summary>How long one XREAD BLOCK waits before asking again.</summary>
    public TimeSpan BlockInterval { get; set; } = TimeSpan.FromSeconds(5);
}
