using Folio.Cpu;
using Folio.Cuda.Runner;
using Folio.Cuda;
using Folio.Engine.Execution;
using Folio.Engine.Kv;
using Folio.Engine;
using Folio.Models;

namespace Folio.Cli.Commands;

/// <summary>The engine options `folio generate` and `folio bench engine` share, read from the command line.</summary>
internal sealed record EngineCliSetup(EngineOptions Options, int BlockSize, int? KvBlocks, long KvMemoryBytes, int Threads, string Backend)
{
    public const string UsageLines = """
          --backend auto|cpu|cuda      auto takes CUDA when a device answers (default auto)
          --threads N                  compute threads (default: all cores)
          --max-num-seqs N             sequences per step (default 64)
          --max-num-batched-tokens N   tokens per step, prefill chunks and decodes (default 2048)
          --block-size N               tokens per KV block (default 16)
          --kv-cache-blocks N          KV blocks in the pool (default: from --kv-cache-memory)
          --kv-cache-memory SIZE       KV budget, e.g. 512MiB, 2GiB (default 512MiB)
          --no-prefix-caching          turn the prefix cache off
          --priority-scheduling        serve lower priority values first instead of FCFS
        """;

    public static EngineCliSetup Read(CliArgs args)
    {
        var defaults = new EngineOptions();
        var options = new EngineOptions
        {
            MaxNumSeqs = args.Int("max-num-seqs", defaults.MaxNumSeqs),
            MaxNumBatchedTokens = args.Int("max-num-batched-tokens", defaults.MaxNumBatchedTokens),
            EnablePrefixCaching = !args.Flag("no-prefix-caching"),
            Policy = args.Flag("priority-scheduling") ? SchedulingPolicy.Priority : SchedulingPolicy.Fcfs,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message.Replace("max_num_seqs", "--max-num-seqs", StringComparison.Ordinal).Replace("max_num_batched_tokens", "--max-num-batched-tokens", StringComparison.Ordinal));
        }

        int blockSize = args.Int("block-size", 16);
        if (blockSize is < 1 or > 1024)
        {
            throw new CliUsageException($"--block-size must be 1-1024; got {blockSize}");
        }

        int? blocks = args.OptionalInt("kv-cache-blocks");
        if (blocks is < 1)
        {
            throw new CliUsageException($"--kv-cache-blocks must be >= 1; got {blocks}");
        }

        string memory = args.String("kv-cache-memory") ?? "512MiB";
        if (!ByteSize.TryParse(memory, out long bytes))
        {
            throw new CliUsageException($"--kv-cache-memory: '{memory}' is not a size; write e.g. 512MiB or 2GiB");
        }

        int threads = args.Int("threads", Environment.ProcessorCount);
        if (threads < 1)
        {
            throw new CliUsageException($"--threads must be >= 1; got {threads}");
        }

        string backend = args.String("backend") ?? "auto";
        if (backend is not ("auto" or "cpu" or "cuda"))
        {
            throw new CliUsageException($"--backend must be auto, cpu or cuda; got '{backend}'");
        }

        return new EngineCliSetup(options, blockSize, blocks, bytes, threads, backend);
    }

    public int BlocksFor(ModelConfig config) =>
        KvBlocks ?? KvCacheSizing.BlocksForBudget(config, BlockSize, KvMemoryBytes, "--kv-cache-memory");

    /// <summary>
    /// The runner for --backend: CUDA when asked for (its errors say what to install) or, with
    /// auto, when a device answers; the CPU backend otherwise. The reason for auto's choice goes to stderr.
    /// </summary>
    public IModelRunner CreateRunner(LoadedModel model, int? blocksOverride = null)
    {
        bool cuda = Backend == "cuda";
        if (Backend == "auto")
        {
            cuda = CudaBackend.IsUsable(out string reason);
            if (cuda)
            {
                Console.Error.WriteLine($"folio: using CUDA ({reason})");
            }
        }

        if (cuda)
        {
            return CudaBackend.CreateRunner(model, new CudaRunnerOptions
            {
                BlockSize = BlockSize,
                MaxNumBatchedTokens = Options.MaxNumBatchedTokens,
                MaxNumSeqs = Options.MaxNumSeqs,
                NumBlocksOverride = blocksOverride ?? KvBlocks ?? 0,
            });
        }

        return new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = blocksOverride ?? BlocksFor(model.Config), BlockSize = BlockSize, Threads = Threads });
    }
}
