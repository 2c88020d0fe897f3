using Folio.Cuda.Runner;
using Folio.Models.Loading;
using Folio.ModelTools;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// A model that needs a part no CUDA kernel implements (YaRN's and LongRoPE's attention factor,
/// Phi-3's partial rotary) is refused at construction, naming what it lacks, rather than run with
/// the wrong math. Qwen3, Gemma 2/3 and mixtures of experts run (RunnerOnEmulationTests).
/// </summary>
public sealed class UnsupportedArchitectureTests
{
    /// <summary>Each part the CUDA runner claims is a name ModelConfig.BeyondLlama still gives, so a rename cannot silently drop a refusal or a claim.</summary>
    [Fact]
    public void Every_implemented_part_is_a_name_the_model_config_gives()
    {
        var small = new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 64, Vocab = 300 };
        var named = new[]
            {
                small with { Arch = TestArchitecture.Qwen3 },
                small with { Arch = TestArchitecture.Qwen3Moe, Experts = 4, DenseLayers = [1] },
                small with { Arch = TestArchitecture.Qwen2Moe, Experts = 4 },
                small with { Arch = TestArchitecture.Gemma2 },
                small with { Arch = TestArchitecture.Gemma3 },
                small with { Arch = TestArchitecture.Phi3, PartialRotary = 0.5f, RopeScaling = TestRopeScaling.LongRope },
                small with { Arch = TestArchitecture.Llama, RopeScaling = TestRopeScaling.Yarn },
            }
            .SelectMany(o => TestModelWriter.Config(o).BeyondLlama())
            .Concat((TestModelWriter.Config(new TestModelOptions { Arch = TestArchitecture.Gemma2, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 64, Vocab = 300 }) with { AttentionScale = 0.1f }).BeyondLlama())
            .ToHashSet();
        Assert.Subset(named, CudaArchitectureSupport.Implemented.ToHashSet());
    }

    /// <summary>YaRN and LongRoPE scale cos and sin by an attention factor, which the runner does not pass the rotary kernel yet.</summary>
    [Theory]
    [InlineData(TestArchitecture.Llama, TestRopeScaling.Yarn, 1f, "yarn rope scaling")]
    [InlineData(TestArchitecture.Phi3, TestRopeScaling.LongRope, 1f, "longrope rope scaling")]
    public void The_cuda_runner_refuses_rope_it_cannot_run_naming_it(TestArchitecture arch, TestRopeScaling scaling, float partialRotary, string part) =>
        AssertRefused(new TestModelOptions { Arch = arch, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 64, Vocab = 300, RopeScaling = scaling, PartialRotary = partialRotary }, part);

    private static void AssertRefused(TestModelOptions options, string part)
    {
        string dir = Path.Combine(Path.GetTempPath(), "folio-cuda-arch-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path = Path.Combine(dir, "m.gguf");
            Directory.CreateDirectory(dir);
            TestModelWriter.Write(path, TestModelFormat.Gguf, options);
            using var model = ModelLoader.Load(path);
            var e = Assert.Throws<NotSupportedException>(() => new CudaModelRunner(model, new CudaRunnerOptions { GraphBatchSizes = [] }, new EmuDeviceApi()).Dispose());
            Assert.Contains(part, e.Message);
            Assert.Contains("CPU backend", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
