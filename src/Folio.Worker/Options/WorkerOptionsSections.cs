using Folio.Contracts;

namespace Folio.Worker.Options;

/// <summary>Folio:RabbitMq. The URI carries credentials: it is never logged (see <see cref="Redaction"/>).</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "Folio:RabbitMq";

    /// <summary>amqp://user:pass@host:5672/vhost, or amqps:// for TLS.</summary>
    public string Uri { get; set; } = string.Empty;

    public string RequestQueue { get; set; } = WireNames.RequestQueue;

    /// <summary>Defaults to RequestQueue + "_error".</summary>
    public string? ErrorQueue { get; set; }

    public string CancelExchange { get; set; } = WireNames.CancelExchange;

    /// <summary>Deliveries after which a request that keeps failing (killing workers) gets an error entry and goes to the error queue.</summary>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>How long the broker lets one delivery stay unacknowledged (x-consumer-timeout; long generations need long).</summary>
    public int ConsumerTimeoutSeconds { get; set; } = 3600;

    /// <summary>Replicas of the quorum queue (1 on a single node).</summary>
    public int QuorumInitialGroupSize { get; set; }

    /// <summary>TLS: a server name to verify instead of the host in Uri (amqps only).</summary>
    public string? TlsServerName { get; set; }

    /// <summary>Request queue tiers (1: the one queue RequestQueue; N: RequestQueue.p0 .. p{N-1}, p0 most urgent, chosen by priority).</summary>
    public int PriorityTiers { get; set; } = 1;

    /// <summary>With tiers: of every this many admissions made while less urgent work waits, one goes to the less urgent request that has waited longest.</summary>
    public int LowerTierEvery { get; set; } = 4;

    /// <summary>x-max-length of every request queue (0: unbounded); a full queue refuses publishes (x-overflow reject-publish).</summary>
    public long MaxLength { get; set; }

    /// <summary>x-max-length-bytes of every request queue (0: unbounded).</summary>
    public long MaxLengthBytes { get; set; }

    /// <summary>A direct exchange routing by model name (several models on one broker); empty: none. The worker binds its queues with its model name and aliases.</summary>
    public string ModelExchange { get; set; } = string.Empty;

    /// <summary>
    /// The request queues a worker declares and consumes, each with the tier it feeds. With tiers the
    /// plain RequestQueue stays too, as the default priority's tier, so that a publisher not told
    /// about tiers keeps being served.
    /// </summary>
    public IReadOnlyList<(string Queue, int Tier)> TierQueues()
    {
        if (PriorityTiers <= 1)
        {
            return [(RequestQueue, 0)];
        }

        var list = new List<(string, int)>(PriorityTiers + 1);
        for (int t = 0; t < PriorityTiers; t++)
        {
            list.Add((Contracts.PriorityTiers.QueueName(RequestQueue, t, PriorityTiers), t));
        }

        list.Add((RequestQueue, Contracts.PriorityTiers.DefaultTier(PriorityTiers)));
        return list;
    }

    /// <summary>The setting that decides a request queue argument, for messages about a queue declared with other arguments.</summary>
    public static string? SettingOf(string queueArgument) => queueArgument switch
    {
        "x-max-length" => Section + ":MaxLength",
        "x-max-length-bytes" => Section + ":MaxLengthBytes",
        "x-overflow" => Section + ":MaxLength and MaxLengthBytes",
        "x-delivery-limit" => Section + ":MaxDeliveries",
        "x-consumer-timeout" => Section + ":ConsumerTimeoutSeconds",
        "x-quorum-initial-group-size" => Section + ":QuorumInitialGroupSize",
        "x-dead-letter-routing-key" => Section + ":ErrorQueue",
        _ => null,
    };

    public string ErrorQueueName => string.IsNullOrEmpty(ErrorQueue) ? RequestQueue + WireNames.ErrorQueueSuffix : ErrorQueue;
}

/// <summary>Folio:Redis.</summary>
public sealed class RedisOptions
{
    public const string Section = "Folio:Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. "host:6379,password=...,ssl=true".</summary>
    public string Configuration { get; set; } = string.Empty;

    public string StreamPrefix { get; set; } = WireNames.StreamPrefix;

    public int StreamTtlSeconds { get; set; } = WireNames.StreamTtlSeconds;

    /// <summary>How long the stream (and state) of a request with a batch_id lives after its last write, instead of StreamTtlSeconds: batch results are collected later.</summary>
    public int BatchTtlSeconds { get; set; } = BatchKeys.DefaultTtlSeconds;

    /// <summary>
    /// 0: off. Else after each flush the worker sends WAIT to every primary it wrote to and goes on
    /// (acknowledges finished requests) only once that many replicas hold the writes, so a failover
    /// cannot take an acknowledged terminal entry with it.
    /// </summary>
    public int WaitReplicas { get; set; }

    /// <summary>How long one WAIT may block; fewer replicas by then: the flush is retried like any Redis failure.</summary>
    public int WaitTimeoutMilliseconds { get; set; } = 1000;
}

/// <summary>Folio:Model.</summary>
public sealed class ModelOptions
{
    public const string Section = "Folio:Model";

    /// <summary>A Hugging Face folder, a .gguf file, or "demo".</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>The name this worker serves (a request's <c>model</c> must be it or an alias); empty: "demo", or the file or folder name of Path.</summary>
    public string? Name { get; set; }

    /// <summary>Other names a request may use for this model.</summary>
    public string[] Aliases { get; set; } = [];

    /// <summary>A chat template file (Jinja) that replaces the model's own; empty: the model's.</summary>
    public string? ChatTemplate { get; set; }

    /// <summary>
    /// "parse" (default, as Hugging Face and vLLM): special-token text inside message content is
    /// tokenized as special tokens. "plain": it is ordinary text and cannot open a new turn.
    /// </summary>
    public string ContentSpecialTokens { get; set; } = "parse";

    /// <summary>The served name: <see cref="Name"/>, else "demo" or Path's file or folder name.</summary>
    public string ServedName =>
        !string.IsNullOrWhiteSpace(Name) ? Name
        : Path == "demo" ? "demo"
        : System.IO.Path.GetFileNameWithoutExtension(Path.TrimEnd('/', '\\')) is { Length: > 0 } n ? n : Path;
}

/// <summary>Folio:Engine: the engine's capacity knobs, which also bound what the worker takes from the queue.</summary>
public sealed class EngineOptions
{
    public const string Section = "Folio:Engine";

    /// <summary>"auto", "cpu" or "cuda".</summary>
    public string Backend { get; set; } = "auto";

    /// <summary>KV cache size (CPU backend), e.g. "2GiB", "512MiB", "64G": see Folio.Engine.Kv.ByteSize for every accepted spelling.</summary>
    public string KvCacheMemory { get; set; } = "2GiB";

    public int MaxNumSeqs { get; set; } = 32;

    public int MaxNumBatchedTokens { get; set; } = 2048;

    public int BlockSize { get; set; } = 16;

    /// <summary>CUDA: share of device memory for weights, activations and the KV pool.</summary>
    public double GpuMemoryUtilization { get; set; } = 0.9;

    /// <summary>CPU threads (0: all cores).</summary>
    public int Threads { get; set; }

    /// <summary>
    /// CPU, mixture-of-experts models: "auto" (default: experts stay in the model file's mapping only
    /// when packing them all would take more than half the available memory), "true" (always mapped:
    /// only routed experts' pages are read) or "false" (always packed at load).
    /// </summary>
    public string MapExperts { get; set; } = "auto";

    /// <summary>
    /// CPU, mapped experts only: memory for packed panels of recently used experts (a size such as
    /// "4GiB"; "0": none, every routed expert is repacked from the file at every step; empty: a
    /// quarter of the available memory).
    /// </summary>
    public string ExpertCacheMemory { get; set; } = string.Empty;

    /// <summary><see cref="MapExperts"/> as the CPU runner takes it: null for "auto".</summary>
    public bool? MapExpertsChoice => MapExperts switch
    {
        "true" => true,
        "false" => false,
        _ => null,
    };

    /// <summary><see cref="ExpertCacheMemory"/> in bytes, null for the runner's default (empty).</summary>
    public long? ExpertCacheBytes => string.IsNullOrWhiteSpace(ExpertCacheMemory) ? null : Folio.Engine.Kv.ByteSize.Parse(ExpertCacheMemory, "Folio:Engine:ExpertCacheMemory");

    /// <summary>
    /// Longest sequence (prompt + output) this worker serves; 0: the model's context. The engine and
    /// the request limits use the smallest of this, the model's context and the backend's own limit,
    /// and both backends size their buffers for it.
    /// </summary>
    public int MaxModelLen { get; set; }
}

/// <summary>Folio:Limits: caps a deployment puts on requests (safe defaults).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Folio:Limits";

    public int MaxTokens { get; set; } = 4096;

    public int MaxPromptTokens { get; set; } = 8192;

    public int MaxMessageBytes { get; set; } = 1 << 20;
}

/// <summary>Folio:Worker: the host itself.</summary>
public sealed class WorkerHostOptions
{
    public const string Section = "Folio:Worker";

    /// <summary>Written in start entries; defaults to host name + process id.</summary>
    public string? Name { get; set; }

    /// <summary>Port of /metrics, /healthz, /readyz (0: pick a free one; -1: no HTTP listener at all).</summary>
    public int HttpPort { get; set; } = 9400;

    /// <summary>
    /// Address the HTTP endpoint binds: "*" (every interface, the default), "localhost" (loopback only)
    /// or an IP address. The endpoint serves metrics and health only, no request data.
    /// </summary>
    public string HttpBindAddress { get; set; } = "*";

    /// <summary>On SIGTERM, how long in-flight requests may run before they are handed back to the queue.</summary>
    public int DrainTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Fault injection for tests: a request whose id starts with this kills the worker process when
    /// taken. Honoured only when the process also has the environment variable
    /// <see cref="FaultInjection.EnvironmentVariable"/>=1, which no configuration file can set; without
    /// it the worker refuses to start rather than ignore the key.
    /// </summary>
    public string? CrashOnRequestIdPrefix { get; set; }
}

/// <summary>The explicit opt-in for fault injection: an environment variable, so no appsettings.json can turn it on.</summary>
public static class FaultInjection
{
    public const string EnvironmentVariable = "FOLIO_ENABLE_FAULT_INJECTION";

    public static bool Enabled => Environment.GetEnvironmentVariable(EnvironmentVariable) == "1";
}
