using Folio.Engine.Scheduling;
using System.CommandLine;
using Folio.Cli.CommandLine;
using Folio.Engine;

namespace Folio.Cli.Options;

/// <summary>
/// How `folio generate` and `folio bench engine` build their engine: backend, threads, scheduler
/// limits and the KV cache, with the engine's own defaults.
/// </summary>
public sealed class EngineSetupOptions : IOptionGroup
{
    private static readonly EngineConfig Defaults = new();

    private readonly FolioOption<string> _backend = SharedOptions.Backend();
    private readonly FolioOption<int?> _threads = SharedOptions.Threads();
    private readonly FolioOption<int> _maxNumSeqs = SharedOptions.MaxNumSeqs(Defaults.MaxNumSeqs);
    private readonly FolioOption<int> _maxNumBatchedTokens = CliOptions.Int("--max-num-batched-tokens", "N", "tokens per step, prefill chunks and decodes", Defaults.MaxNumBatchedTokens, min: 1);
    private readonly FolioOption<int> _blockSize = CliOptions.Int("--block-size", "N", "tokens per KV block", 16, min: 1, max: 1024);
    private readonly FolioOption<int?> _kvCacheBlocks;
    private readonly FolioOption<long>? _kvCacheMemory;
    private readonly FolioOption<bool> _noPrefixCaching = CliOptions.Flag("--no-prefix-caching", "turn the prefix cache off");
    private readonly FolioOption<bool> _priorityScheduling = CliOptions.Flag("--priority-scheduling", "serve lower priority values first instead of first come, first served");

    /// <param name="kvCacheMemory">
    /// Whether --kv-cache-memory sizes the pool; `bench engine` sizes it from its workload instead
    /// and so does not offer an option it would ignore.
    /// </param>
    public EngineSetupOptions(bool kvCacheMemory = true)
    {
        if (kvCacheMemory)
        {
            _kvCacheMemory = SharedOptions.KvCacheMemory("512MiB");
            _kvCacheBlocks = CliOptions.OptionalInt("--kv-cache-blocks", "N", "KV blocks in the pool", defaultText: "from --kv-cache-memory", min: 1);
        }
        else
        {
            _kvCacheBlocks = CliOptions.OptionalInt("--kv-cache-blocks", "N", "KV blocks in the pool", defaultText: "from the workload", min: 1);
        }
    }

    public string Title => "Engine";

    public IReadOnlyList<IFolioOption> Options =>
        _kvCacheMemory is null
            ? [_backend, _threads, _maxNumSeqs, _maxNumBatchedTokens, _blockSize, _kvCacheBlocks, _noPrefixCaching, _priorityScheduling]
            : [_backend, _threads, _maxNumSeqs, _maxNumBatchedTokens, _blockSize, _kvCacheBlocks, _kvCacheMemory, _noPrefixCaching, _priorityScheduling];

    internal EngineCliSetup Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var config = new EngineConfig
        {
            MaxNumSeqs = parse.GetValue(_maxNumSeqs),
            MaxNumBatchedTokens = parse.GetValue(_maxNumBatchedTokens),
            EnablePrefixCaching = !parse.GetValue(_noPrefixCaching),
            Policy = parse.GetValue(_priorityScheduling) ? SchedulingPolicy.Priority : SchedulingPolicy.Fcfs,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message.Replace("max_num_seqs", "--max-num-seqs", StringComparison.Ordinal).Replace("max_num_batched_tokens", "--max-num-batched-tokens", StringComparison.Ordinal));
        }

        long kvBytes = _kvCacheMemory is null ? 0 : parse.GetValue(_kvCacheMemory);
        return new EngineCliSetup(
            config,
            parse.GetValue(_blockSize),
            parse.GetValue(_kvCacheBlocks),
            kvBytes,
            SharedOptions.ThreadsOrAllCores(parse.GetValue(_threads)),
            parse.GetValue(_backend)!);
    }
}
