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

    /// <summary>How long one XREAD BLOCK waits before asking again.</summary>
    public TimeSpan BlockInterval { get; set; } = TimeSpan.FromSeconds(5);
}
