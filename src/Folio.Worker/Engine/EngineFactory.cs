using Folio.Cpu;
using Folio.Engine.Kv;
using Folio.Models.Loading;
using Folio.Worker.Hosting;
using Folio.Worker.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Folio.Worker.Engine;

/// <summary>Builds the engine for Folio:Model:Path and Folio:Engine: load the model, size the KV cache, start the loop.</summary>
internal sealed class EngineFactory(IOptions<ModelOptions> model, IOptions<EngineOptions> engine, ILogger<EngineFactory> log) : IEngineFactory
{
    public IInferenceEngine Create()
    {
        var o = engine.Value;
        bool cuda = o.Backend == "cuda";
        if (o.Backend == "auto")
        {
            cuda = Folio.Cuda.CudaBackend.IsUsable(out string reason);
            Log.BackendChosen(log, cuda ? "cuda" : "cpu", reason);
        }

        Log.LoadingModel(log, model.Value.Path);
        var loaded = ModelLoader.Load(model.Value.Path);
        try
        {
            var options = new Folio.Engine.EngineOptions
            {
                MaxNumSeqs = o.MaxNumSeqs,
                MaxNumBatchedTokens = o.MaxNumBatchedTokens,
                Policy = Folio.Engine.SchedulingPolicy.Priority,
            };
            if (cuda)
            {
                // The CUDA runner sizes its KV pool from free device memory (Folio:Engine:GpuMemoryUtilization).
                var gpu = Folio.Cuda.CudaBackend.CreateRunner(loaded, new Folio.Cuda.Runner.CudaRunnerOptions
                {
                    BlockSize = o.BlockSize,
                    GpuMemoryUtilization = o.GpuMemoryUtilization,
                    MaxNumBatchedTokens = o.MaxNumBatchedTokens,
                    MaxNumSeqs = o.MaxNumSeqs,
                });
                return new LlmEngineAdapter(loaded, gpu, options);
            }

            long budget = ByteSize.Parse(o.KvCacheMemory, "Folio:Engine:KvCacheMemory");
            int blocks = KvCacheSizing.BlocksForBudget(loaded.Config, o.BlockSize, budget);
            // No more blocks than every sequence at full context could use: the rest would be idle memory.
            long useful = (long)o.MaxNumSeqs * ((loaded.Config.MaxPositionEmbeddings + o.BlockSize - 1) / o.BlockSize);
            blocks = (int)Math.Min(blocks, Math.Max(1, useful));
            var runner = new CpuModelRunner(loaded, new CpuRunnerOptions
            {
                NumBlocks = blocks,
                BlockSize = o.BlockSize,
                Threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount,
            });
            return new LlmEngineAdapter(loaded, runner, options);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }
}
