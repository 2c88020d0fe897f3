using Folio.Engine.Cpu;
using Folio.Engine.Kv;
using Folio.Engine.Loading;
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
        if (o.Backend == "cuda")
        {
            throw new NotSupportedException("Folio:Engine:Backend = cuda: the worker has no CUDA model runner wired in yet; use cpu or auto");
        }

        Log.LoadingModel(log, model.Value.Path);
        var loaded = ModelLoader.Load(model.Value.Path);
        try
        {
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
            var options = new Folio.Engine.Engine.EngineOptions
            {
                MaxNumSeqs = o.MaxNumSeqs,
                MaxNumBatchedTokens = o.MaxNumBatchedTokens,
                Policy = Folio.Engine.Engine.SchedulingPolicy.Priority,
            };
            return new LlmEngineAdapter(loaded, runner, options);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }
}
