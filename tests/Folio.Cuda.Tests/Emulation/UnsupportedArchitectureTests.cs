using Folio.Cuda.Runner;
using Folio.Models.Loading;
using Folio.ModelTools;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// The CUDA kernels implement the Llama decoder only: a model that needs more (Qwen3's q/k norms,
/// Gemma's GeGLU and soft-caps, experts, YaRN's and LongRoPE's attention factor, partial rotary) is
/// refused at construction, naming what it lacks, rather than run with the wrong math.
/// </summary>
public sealed class UnsupportedArchitectureTests
{
    [Theory]
    [InlineData(TestArchitecture.Qwen3, "q/k norms")]
    [InlineData(TestArchitecture.Gemma2, "logit soft-capping")]
    [InlineData(TestArchitecture.Qwen3Moe, "mixture of experts")]
    public void The_cuda_runner_refuses_a_model_it_cannot_run_naming_the_missing_parts(TestArchitecture arch, string part) =>
        AssertRefused(new TestModelOptions { Arch = arch, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 16, Ffn = 64, Vocab = 300 }, part);

    /// <summary>YaRN and LongRoPE scale cos and sin by an attention factor and Phi-3's partial rotary leaves dimensions unrotated: the rotary kernel does neither.</summary>
    [Theory]
    [InlineData(TestArchitecture.Llama, TestRopeScaling.Yarn, 1f, "yarn rope scaling")]
    [InlineData(TestArchitecture.Phi3, TestRopeScaling.LongRope, 1f, "longrope rope scaling")]
    [InlineData(TestArchitecture.Phi3, TestRopeScaling.None, 0.5f, "partial rotary embeddings")]
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
