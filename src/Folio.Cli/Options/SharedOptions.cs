using Folio.Cli.CommandLine;

namespace Folio.Cli.Options;

/// <summary>
/// The options several commands take, defined once: the same name, value, parser and wording
/// everywhere. A command passes only what differs for it (its default, what it accepts as a model).
/// Groups of them: <see cref="EngineSetupOptions"/>, <see cref="QueueConnectionOptions"/>, <see cref="SamplingOptions"/>.
/// </summary>
public static class SharedOptions
{
    /// <summary>--model: what to load. <paramref name="valueName"/> says what this command accepts, e.g. PATH|demo.</summary>
    public static FolioOption<string?> Model(string valueName, string description, string? defaultValue = null) =>
        CliOptions.String("--model", valueName, description, defaultValue, required: defaultValue is null);

    /// <summary>--threads: compute threads; null when absent, which means every core.</summary>
    public static FolioOption<int?> Threads(string description = "compute threads") =>
        CliOptions.OptionalInt("--threads", "N", description, defaultText: "all cores", min: 1);

    /// <summary>--backend: where the model runs.</summary>
    public static FolioOption<string> Backend() =>
        CliOptions.Choice("--backend", "auto takes CUDA when a device answers, else the CPU", "auto", "auto", "cpu", "cuda");

    /// <summary>--kv-cache-memory: the KV cache budget of one engine.</summary>
    public static FolioOption<long> KvCacheMemory(string defaultValue, string description = "KV cache budget") =>
        CliOptions.Size("--kv-cache-memory", description, defaultValue);

    /// <summary>--max-num-seqs: sequences in one engine step.</summary>
    public static FolioOption<int> MaxNumSeqs(int defaultValue, string description = "sequences per step") =>
        CliOptions.Int("--max-num-seqs", "N", description, defaultValue, min: 1);

    /// <summary>The value of --threads, every core when it was not given.</summary>
    public static int ThreadsOrAllCores(int? threads) => threads ?? Environment.ProcessorCount;
}
