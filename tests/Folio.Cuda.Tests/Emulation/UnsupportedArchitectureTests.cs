using Folio.Cuda.Runner;
using Folio.ModelTools;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// A model that needs a part no CUDA kernel implements is refused at construction, naming what it
/// lacks, rather than run with the wrong math. Every part BeyondLlama names today runs
/// (RunnerOnEmulationTests), so the refusal is shown against a reduced list of implemented parts.
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

    /// <summary>
    /// Every part ModelConfig.BeyondLlama names for the test architectures runs on CUDA now, so the
    /// refusal is shown on a part it names that no kernel claims: the check is by name, so a part
    /// added to BeyondLlama later is refused the same way until a kernel implements it.
    /// </summary>
    [Fact]
    public void The_cuda_runner_refuses_a_part_it_does_not_implement_naming_it()
    {
        var config = TestModelWriter.Config(new TestModelOptions { Arch = TestArchitecture.Qwen3Moe, Experts = 4, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 64, Vocab = 300 });
        Assert.Empty(CudaArchitectureSupport.Missing(config));
        var missing = CudaArchitectureSupport.Missing(config, implemented: CudaArchitectureSupport.Implemented.Where(p => p != "mixture of experts").ToHashSet());
        Assert.Equal(["mixture of experts"], missing);
    }
}
