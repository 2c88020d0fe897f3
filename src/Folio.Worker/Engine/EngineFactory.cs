using Folio.Cpu;
using Folio.Engine;
using Folio.Engine.Kv;
using Folio.Engine.Scheduling;
using Folio.Models.Loading;
using Folio.Text.Chat;
using Folio.Worker.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Folio.Worker.Engine;

/// <summary>
/// Builds the engine for Folio:Model:Path and Folio:Engine: load the model, size the KV cache, start
/// the loop. One context length goes to both backends and to the engine: the smallest of the model's
/// context and Folio:Engine:MaxModelLen (the runner may lower it further; the engine reads
/// <c>IModelRunner.Limits</c>).
/// </summary>
internal sealed class EngineFactory(IOptions<ModelOptions> model, IOptions<EngineOptions> engine, ILoggerFactory loggers) : IEngineFactory
{
    public IInferenceEngine Create()
    {
        var log = loggers.CreateLogger<EngineFactory>();
        var o = engine.Value;
        bool cuda = o.Backend == "cuda";
        if (o.Backend == "auto")
        {
            cuda = Folio.Cuda.Runner.CudaBackend.IsUsable(out string reason);
            Log.BackendChosen(log, cuda ? "cuda" : "cpu", reason);
        }

        Log.LoadingModel(log, model.Value.Path);
        var loaded = ModelLoader.Load(model.Value.Path);
        try
        {
            int maxModelLen = o.MaxModelLen > 0 ? Math.Min(o.MaxModelLen, loaded.Config.MaxPositionEmbeddings) : loaded.Config.MaxPositionEmbeddings;
            var config = new EngineConfig
            {
                MaxNumSeqs = o.MaxNumSeqs,
                MaxNumBatchedTokens = o.MaxNumBatchedTokens,
                Policy = SchedulingPolicy.Priority,
                MaxModelLen = maxModelLen,
            };
            var engineLog = loggers.CreateLogger<LlmEngine>();
            var m = model.Value;
            var chatTemplate = string.IsNullOrEmpty(m.ChatTemplate) ? null : ChatTemplateSources.FromFile(m.ChatTemplate, loaded.SpecialTokens);
            var chatOptions = new ChatPromptOptions { ContentSpecialTokens = m.ContentSpecialTokens == "plain" ? ContentSpecialTokens.Plain : ContentSpecialTokens.Parse };
            if (cuda)
            {
                // The CUDA runner sizes its KV pool from free device memory (Folio:Engine:GpuMemoryUtilization).
                var gpu = Folio.Cuda.Runner.CudaBackend.CreateRunner(loaded, new Folio.Cuda.Runner.CudaRunnerOptions
                {
                    BlockSize = o.BlockSize,
                    GpuMemoryUtilization = o.GpuMemoryUtilization,
                    MaxNumBatchedTokens = o.MaxNumBatchedTokens,
                    MaxNumSeqs = o.MaxNumSeqs,
                    MaxModelLen = maxModelLen,
                });
                return new LlmEngineAdapter(loaded, gpu, config, engineLog, m.ServedName, m.Aliases, chatTemplate, chatOptions);
            }

            long budget = ByteSize.Parse(o.KvCacheMemory, "Folio:Engine:KvCacheMemory");
            int blocks = KvCacheSizing.BlocksForBudget(loaded.Config, o.BlockSize, budget);
            // No more blocks than every sequence at full context could use: the rest would be idle memory.
            long useful = (long)o.MaxNumSeqs * ((maxModelLen + o.BlockSize - 1) / o.BlockSize);
            blocks = (int)Math.Min(blocks, Math.Max(1, useful));
            var runner = new CpuModelRunner(loaded, new CpuRunnerOptions
            {
                NumBlocks = blocks,
                BlockSize = o.BlockSize,
                Threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount,
                MapExperts = o.MapExpertsChoice,
                ExpertCacheBytes = o.ExpertCacheBytes,
            });
            return new LlmEngineAdapter(loaded, runner, config, engineLog, m.ServedName, m.Aliases, chatTemplate, chatOptions);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }
}
