using Folio.Cpu.Tests.Support;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Engine.Execution;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// The determinism suite of <see cref="CpuRunnerDeterminismTests"/> on each architecture beyond
/// Llama, mixtures of experts included (whose rows are regrouped by expert differently in every
/// batch) (2 threads, 18 mixed requests with prompts up to 70 tokens, so Gemma's window of 8 is
/// crossed everywhere, and so is that of Qwen2/Qwen3 folders whose layers below max_window_layers
/// attend to the whole context and the rest to the window): tokens and logprobs bitwise identical
/// alone and in a batch, under chunked prefill, and after preemption and recompute.
/// </summary>
public sealed class ArchitectureDeterminismTests
{
    public static TheoryData<string> Architectures => new(["qwen3", "gemma2", "gemma3", "mixtral", "qwen3moe", "qwen2moe-shared-dense", "phi3-longrope-partial", "llama-yarn", "qwen2-mixed-window", "qwen3-mixed-window"]);

    private static readonly List<EngineRequest> Workload = EngineHarness.MixedWorkload(18, seed: 23, maxPrompt: 70, maxTokens: 12);

    private static TestModelOptions Options(string arch) => arch switch
    {
        "qwen3" => new TestModelOptions { Arch = TestArchitecture.Qwen3, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 96, Vocab = EngineHarness.Vocab, Seed = 61 },
        "gemma2" => new TestModelOptions { Arch = TestArchitecture.Gemma2, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 96, Vocab = EngineHarness.Vocab, Seed = 62, SlidingWindow = 8, AttentionSoftcap = 0.5f, FinalSoftcap = 4f },
        "gemma3" => new TestModelOptions { Arch = TestArchitecture.Gemma3, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 96, Vocab = EngineHarness.Vocab, Seed = 63, SlidingWindow = 8, SlidingWindowPattern = 2 },
        "mixtral" => new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 64, Vocab = EngineHarness.Vocab, Seed = 64, Experts = 8, ExpertsPerToken = 2 },
        "qwen3moe" => new TestModelOptions { Arch = TestArchitecture.Qwen3Moe, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 64, Vocab = EngineHarness.Vocab, Seed = 65, Experts = 6, ExpertsPerToken = 4 },
        "qwen2moe-shared-dense" => new TestModelOptions { Arch = TestArchitecture.Qwen2Moe, Dim = 64, Layers = 3, Heads = 4, KvHeads = 2, Ffn = 64, SharedExpertFfn = 96, Vocab = EngineHarness.Vocab, Seed = 68, Experts = 8, ExpertsPerToken = 2, DenseLayers = [1] },
        "phi3-longrope-partial" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = EngineHarness.Vocab, Seed = 66, RopeScaling = TestRopeScaling.LongRope, OriginalContext = 16, PartialRotary = 0.5f },
        "llama-yarn" => new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = EngineHarness.Vocab, Seed = 67, RopeScaling = TestRopeScaling.Yarn, OriginalContext = 16 },
        "qwen2-mixed-window" => QwenWindowedFolders.Options("qwen2", EngineHarness.Vocab, seed: 69),
        "qwen3-mixed-window" => QwenWindowedFolders.Options("qwen3", EngineHarness.Vocab, seed: 70),
        _ => throw new ArgumentException(arch),
    };

    private static Dictionary<RequestKey, RunResult> Run(LoadedModel model, IEnumerable<EngineRequest> requests, EngineConfig? options = null, int blocks = 256, int blockSize = 16, Action<LlmEngine, FakeModelRunner>? afterStep = null) =>
        EngineHarness.Run(requests, options, blocks, blockSize, afterStep, runnerFactory: (b, s) => new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = b, BlockSize = s, Threads = 2 }));

    private static LoadedModel Load(TempDir dir, string arch)
    {
        if (arch.EndsWith("-mixed-window", StringComparison.Ordinal))
        {
            // Qwen with use_sliding_window: layers 0-1 full attention, 2-3 a window of 8. GGUF cannot
            // say max_window_layers, so this one is a Hugging Face folder.
            QwenWindowedFolders.Write(dir.File("hf"), Options(arch), window: 8, maxWindowLayers: 2);
            return ModelLoader.Load(dir.File("hf"));
        }

        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, Options(arch));
        return ModelLoader.Load(path);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Batch_of_18_mixed_requests_matches_each_request_alone_bitwise(string arch)
    {
        using var dir = new TempDir();
        using var model = Load(dir, arch);
        var batch = Run(model, Workload, new EngineConfig { MaxNumSeqs = 32 });
        foreach (var r in Workload.Take(6))
        {
            Run(model, [r])[r.Key].AssertSameGeneration(batch[r.Key]);
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Chunked_prefill_and_preemption_match_the_plain_run_bitwise(string arch)
    {
        using var dir = new TempDir();
        using var model = Load(dir, arch);
        var reference = Run(model, Workload);
        var chunked = Run(model, Workload, new EngineConfig { MaxNumBatchedTokens = 7, MaxNumSeqs = 6 });
        long preemptions = 0;
        var tight = Run(model, Workload, new EngineConfig { MaxNumSeqs = 16, MaxNumBatchedTokens = 48 }, blocks: 30, blockSize: 4, afterStep: (e, _) => preemptions = e.Metrics.Preemptions);
        Assert.True(preemptions > 0, "the tiny pool was meant to force preemption");
        foreach (var (id, r) in reference)
        {
            r.AssertSameGeneration(chunked[id]);
            r.AssertSameGeneration(tight[id]);
        }
    }
}
