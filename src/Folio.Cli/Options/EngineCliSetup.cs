using Folio.Cuda.Interop;
using Folio.Cpu;
using Folio.Cuda.Runner;
using Folio.Cuda;
using Folio.Engine.Execution;
using Folio.Engine.Kv;
using Folio.Engine;
using Folio.Models;

namespace Folio.Cli.Options;

/// <summary>The engine setup `folio generate` and `folio bench engine` share, read by <see cref="Options.EngineSetupOptions"/>.</summary>
internal sealed record EngineCliSetup(EngineConfig Options, int BlockSize, int? KvBlocks, long KvMemoryBytes, int Threads, string Backend)
{
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
