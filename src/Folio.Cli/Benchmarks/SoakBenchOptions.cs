using Folio.Client;

namespace Folio.Cli.Benchmarks;

/// <summary>Options of <c>folio bench soak</c>.</summary>
public sealed record SoakBenchOptions
{
    /// <summary>The servers (RabbitMQ URI, Redis configuration); the run's queue and stream names are its own.</summary>
    public required FolioClientOptions Connection { get; init; }

    /// <summary>The built worker (Folio.Worker.dll) the run starts as a process of its own.</summary>
    public required string WorkerDll { get; init; }

    /// <summary>"tiny" (a small synthetic GGUF written for the run), "demo", a .gguf file or a Hugging Face folder.</summary>
    public string Model { get; init; } = "tiny";

    /// <summary>The backlog: requests published before the worker starts.</summary>
    public int Requests { get; init; } = 10_000;

    /// <summary>Tokens generated per request (EOS ignored): short, so the run measures the queue path, not the model.</summary>
    public int MaxTokens { get; init; } = 4;

    public int MaxNumSeqs { get; init; } = 32;

    /// <summary>Compute threads of the worker.</summary>
    public int Threads { get; init; } = 1;

    public string KvCacheMemory { get; init; } = "256MiB";

    /// <summary>How often the worker's resident memory is sampled.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The run fails when no stream ends for this long (a lost request, a stuck worker).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(120);
}

/// <summary>What a soak run measured.</summary>
/// <param name="Seconds">From the worker's start to the last terminal entry.</param>
/// <param name="SteadySeconds">From the first terminal entry to the last.</param>
/// <param name="Lost">Requests whose stream never ended.</param>
/// <param name="Malformed">Streams that broke a guarantee of docs/contract.md section 2 (the first few are listed in <paramref name="Problems"/>).</param>
/// <param name="Errors">Streams that ended with an error entry.</param>
/// <param name="RssStartBytes">The worker's resident memory once a tenth of the backlog was done (warm).</param>
/// <param name="RedisBeforeBytes">Redis used_memory before the backlog was published.</param>
public sealed record SoakBenchResult(
    int Requests,
    double PublishSeconds,
    double Seconds,
    double SteadySeconds,
    int Completed,
    int Lost,
    int Malformed,
    int Errors,
    uint DeadLettered,
    uint LeftInQueue,
    long RssStartBytes,
    long RssEndBytes,
    long RssPeakBytes,
    long RedisBeforeBytes,
    long RedisAfterBytes,
    long RedisPeakBytes,
    IReadOnlyList<string> Problems)
{
    public double RequestsPerSecond => Completed / Seconds;

    public double SteadyRequestsPerSecond => Completed / SteadySeconds;

    /// <summary>Every request's stream ended once, well-formed, and nothing went to the error queue or stayed behind.</summary>
    public bool NothingLost => Lost == 0 && Malformed == 0 && Completed == Requests && DeadLettered == 0 && LeftInQueue == 0;
}
