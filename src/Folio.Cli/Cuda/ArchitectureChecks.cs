using Folio.Cuda.Runner;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;

namespace Folio.Cli.Cuda;

/// <summary>
/// The architectures beyond Llama on the device: a small synthetic bf16 model of each family
/// (written by TestModelWriter, as make-test-model does) run through <see cref="ModelChecks"/>, so
/// every kernel they add (q/k norm, sandwich norms, GeGLU, soft-caps, sliding windows, Gemma 3's
/// local rope base, expert routing and per-expert cuBLAS GEMMs, Qwen2-MoE's shared expert, a dense
/// layer between sparse ones, Phi-3's partial rotary, LongRoPE's and YaRN's attention factor on
/// cos/sin) is checked against the CPU backend on real hardware, as RunnerOnEmulationTests checks it
/// in the host emulation.
/// </summary>
public static class ArchitectureChecks
{
    /// <summary>
    /// The expert models route each token to all 4 experts: a top-k below that flips on near-ties
    /// between bf16 and f32 router inputs, a difference of precision the logit comparison cannot
    /// tell from a bug (the emulation tests check the top-k rule itself, and MoeRoutingAgreementTests
    /// top-2 of 8 against the CPU runner where every router margin is shown wider than that difference).
    /// </summary>
    private static readonly (string Name, TestModelFormat Format, TestModelOptions Options)[] Models =
    [
        ("Qwen3", TestModelFormat.HuggingFace, Small(TestArchitecture.Qwen3)),
        ("Gemma 2", TestModelFormat.HuggingFace, Small(TestArchitecture.Gemma2)),
        ("Gemma 2 (GGUF)", TestModelFormat.Gguf, Small(TestArchitecture.Gemma2)),
        ("Gemma 3", TestModelFormat.HuggingFace, Small(TestArchitecture.Gemma3)),
        ("Qwen3-MoE", TestModelFormat.HuggingFace, Small(TestArchitecture.Qwen3Moe) with { Experts = 4, ExpertsPerToken = 4, NormTopK = false }),
        ("Mixtral-style (GGUF)", TestModelFormat.Gguf, Small(TestArchitecture.Llama) with { Experts = 4, ExpertsPerToken = 4 }),
        ("Qwen3-MoE (dense layer 1)", TestModelFormat.HuggingFace, Small(TestArchitecture.Qwen3Moe) with { Experts = 4, ExpertsPerToken = 4, NormTopK = false, DenseLayers = [1] }),
        ("Phi-3 (partial rotary 0.5)", TestModelFormat.HuggingFace, Small(TestArchitecture.Phi3) with { PartialRotary = 0.5f }),
        ("Phi-3 (partial rotary 0.5, LongRoPE)", TestModelFormat.HuggingFace, Small(TestArchitecture.Phi3) with { PartialRotary = 0.5f, RopeScaling = TestRopeScaling.LongRope }),
        ("Llama (YaRN)", TestModelFormat.HuggingFace, Small(TestArchitecture.Llama) with { RopeScaling = TestRopeScaling.Yarn }),
        ("Qwen2-MoE (shared expert)", TestModelFormat.HuggingFace, Small(TestArchitecture.Qwen2Moe) with { Experts = 4, ExpertsPerToken = 4, NormTopK = false }),
    ];

    public static IEnumerable<CheckResult> Run(int device)
    {
        string root = Path.Combine(Path.GetTempPath(), "folio-cuda-arch-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var (name, format, options) in Models)
            {
                string path = Path.Combine(root, name.Replace(' ', '-').Replace("(", "").Replace(")", "") + (format == TestModelFormat.Gguf ? ".gguf" : ""));
                Directory.CreateDirectory(root);
                TestModelWriter.Write(path, format, options);
                using var model = ModelLoader.Load(path);
                foreach (var r in ModelChecks.Run(model, new CudaRunnerOptions { DeviceOrdinal = device }))
                {
                    yield return r with { Name = $"{name}: {r.Name}" };
                }
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>A few MB of weights: 4 layers; Gemma alternates local layers (16-token windows, which the 53-token checks cross) with global ones.</summary>
    private static TestModelOptions Small(TestArchitecture arch) => new()
    {
        Arch = arch,
        Dim = 256,
        Layers = 4,
        Heads = 4,
        KvHeads = 2,
        HeadDim = 64,
        Ffn = 512,
        Vocab = 1000,
        DType = DType.BF16,
        SlidingWindow = 16,
        SlidingWindowPattern = arch is TestArchitecture.Gemma2 or TestArchitecture.Gemma3 ? 2 : null,
        RopeTheta = arch == TestArchitecture.Gemma3 ? 1_000_000f : 10000f,
        AttentionSoftcap = 10f,
        FinalSoftcap = 5f,
        Seed = 21,
    };
}
