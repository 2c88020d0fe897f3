using Folio.Cpu;
using Folio.Cuda.Runner;
using Folio.Cuda.Tests.Reference;
using Folio.Engine.Execution;
using Folio.Engine.Kv;
using Folio.Models.Loading;
using Folio.Models;

using Folio.ModelTools;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// The real <see cref="CudaModelRunner"/> (every kernel argument, stride, offset and the layer
/// sequence) driving the host-emulated kernels, against the CPU backend's runner on the same tiny
/// model stored in bf16 (so both read identical weights; CUDA still rounds GEMM inputs and the KV
/// cache to bf16, hence a tolerance of a few percent of the logit range, far below what a wrong
/// stride or offset gives).
/// </summary>
public sealed class RunnerOnEmulationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "folio-cuda-runner-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private LoadedModel Model(TestModelFormat format, TestModelOptions o)
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, format == TestModelFormat.Gguf ? "m.gguf" : "hf");
        TestModelWriter.Write(path, format, o);
        return ModelLoader.Load(path);
    }

    [Theory]
    [InlineData(TestModelFormat.HuggingFace, true, false, 512)]  // q/k/v bias, rotate-half, separate lm_head, single-pass decode
    [InlineData(TestModelFormat.Gguf, false, true, 16)]          // interleaved rope, tied embeddings, split-K decode over 16-token partitions
    public void Prefill_chunks_and_decode_steps_match_the_cpu_runner(TestModelFormat format, bool bias, bool tied, int partitionSize)
    {
        using var model = Model(format, new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, DType = DType.BF16, Bias = bias, Tied = tied, Llama3Scaling = !tied, Seed = 7 });
        RunAgainstCpu(model, partitionSize);
    }

    /// <summary>
    /// Phi-3 (its fused projections split into views at load, NEOX rope) with linear rope scaling, and a
    /// Llama with dynamic NTK: both only change what the loader and the rope frequencies give the
    /// runner, so the CUDA kernels run them unchanged.
    /// </summary>
    [Theory]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Phi3, TestRopeScaling.Linear)]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Phi3, TestRopeScaling.None)]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Llama, TestRopeScaling.Dynamic)]
    public void Phi3_and_frequency_only_rope_scalings_match_the_cpu_runner(TestModelFormat format, TestArchitecture arch, TestRopeScaling scaling)
    {
        using var model = Model(format, new TestModelOptions { Arch = arch, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, DType = DType.BF16, RopeScaling = scaling, MaxPositions = 64, Seed = 8 });
        Assert.Empty(model.Config.BeyondLlama());
        RunAgainstCpu(model, 16);
    }

    /// <summary>
    /// Phi-3 with partial_rotary_factor 0.5 (Phi-4-mini's): rope turns the first 8 of each head's 16
    /// dimensions (rotate-half pairs i, i + 4), the other 8 pass through; HF and GGUF (rope.dimension_count).
    /// </summary>
    [Theory]
    [InlineData(TestModelFormat.HuggingFace)]
    [InlineData(TestModelFormat.Gguf)]
    public void Partial_rotary_matches_the_cpu_runner(TestModelFormat format)
    {
        using var model = Model(format, new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, DType = DType.BF16, PartialRotary = 0.5f, MaxPositions = 64, Seed = 9 });
        Assert.Equal(8, model.Config.RotaryDim);
        Assert.Equal(16, model.Config.HeadDim);
        Assert.Equal(["partial rotary embeddings"], model.Config.BeyondLlama());
        RunAgainstCpu(model, 16);
    }

    /// <summary>
    /// Rope scalings that also scale cos and sin: LongRoPE on Phi-3 with partial rotary (Phi-3.5 /
    /// Phi-4-mini), with max_position_embeddings 64 beyond original_max_position_embeddings 16 (the long
    /// factors and an attention factor of about 1.22) and at 16 (the short factors, attention factor 1);
    /// YaRN (factor 4 over an original context of 16, beta 32/1, mscale 1.14) on a Llama and a Qwen3.
    /// The 37-token prompt and its decode steps run past the original context.
    /// </summary>
    [Theory]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Phi3, TestRopeScaling.LongRope, 0.5f, 64)]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Phi3, TestRopeScaling.LongRope, 0.75f, 64)]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Phi3, TestRopeScaling.LongRope, 1f, 16)]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Llama, TestRopeScaling.Yarn, 1f, 64)]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Qwen3, TestRopeScaling.Yarn, 1f, 64)]
    public void Yarn_and_longrope_match_the_cpu_runner(TestModelFormat format, TestArchitecture arch, TestRopeScaling scaling, float partialRotary, int maxPositions)
    {
        using var model = Model(format, new TestModelOptions
        {
            Arch = arch, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, DType = DType.BF16,
            RopeScaling = scaling, PartialRotary = partialRotary, MaxPositions = maxPositions, OriginalContext = 16, Seed = 10,
        });
        var c = model.Config;
        Assert.Contains($"{c.RopeScaling!.TypeName} rope scaling", c.BeyondLlama());
        Assert.Empty(CudaArchitectureSupport.Missing(c));
        Assert.Equal(maxPositions > 16, RopeFrequencies.AttentionFactor(c.RopeScaling) > 1.0);
        RunAgainstCpu(model, 16);
    }

    /// <summary>
    /// The architectures beyond Llama, each a tiny model of its family: Qwen3's q/k norms; Gemma 2's
    /// GeGLU, (1 + w) norms, scaled embeddings, sandwich norms, attention and final-logit soft-caps
    /// and alternating 8-token sliding windows; Gemma 3's q/k norms, windows and separate rope base
    /// for local layers; Qwen3-MoE, a Mixtral-style Llama with experts and Qwen2-MoE (q/k/v biases and
    /// a shared expert gated by sigmoid, of twice the experts' size). Prompts of 21 and 37
    /// tokens cross the windows and the split-K partitions.
    ///
    /// The expert models route every token to all 4 experts: with top-2 of 8, a token whose 2nd and
    /// 3rd router scores are closer than bf16's rounding of the router input picks another expert
    /// on CUDA than on the f32 CPU backend (seen here: 6-10% of the logit range at one decode step
    /// in three runs), a difference of precision, not of kernels. The top-k choice itself is checked
    /// against the CPU's rule in ArchitectureKernelTests, and top-2 of 8 on the runner by
    /// <see cref="Moe_logits_do_not_depend_on_the_batch"/>.
    /// </summary>
    [Theory]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Qwen3, 0, true, 512, "folio_qk_norm_bf16")]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Qwen3, 0, true, 16, "folio_qk_norm_bf16")]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Gemma2, 0, true, 16, "folio_sandwich_norm_bf16,folio_gelu_tanh_and_mul_bf16,folio_softcap")]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Gemma2, 0, true, 512, "folio_sandwich_norm_bf16,folio_gelu_tanh_and_mul_bf16,folio_softcap")]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Gemma3, 0, true, 16, "folio_sandwich_norm_bf16,folio_qk_norm_bf16")]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Gemma3, 0, true, 512, "folio_sandwich_norm_bf16,folio_qk_norm_bf16")]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Mistral, 0, true, 512, "folio_prefill_attention_bf16")]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Qwen3Moe, 4, false, 16, "folio_moe_route,folio_moe_group,folio_moe_gather_bf16,folio_moe_combine")]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Llama, 4, true, 512, "folio_moe_route,folio_moe_group,folio_moe_gather_bf16,folio_moe_combine")]
    [InlineData(TestModelFormat.HuggingFace, TestArchitecture.Qwen2Moe, 4, false, 16, "folio_moe_route,folio_moe_combine,folio_add_bias_bf16")]
    [InlineData(TestModelFormat.Gguf, TestArchitecture.Qwen2Moe, 4, false, 512, "folio_moe_route,folio_moe_combine,folio_add_bias_bf16")]
    public void New_architectures_match_the_cpu_runner(TestModelFormat format, TestArchitecture arch, int experts, bool normTopK, int partitionSize, string kernels)
    {
        using var model = Model(format, ArchitectureOptions(arch, experts, normTopK, expertsPerToken: experts));
        Assert.Empty(CudaArchitectureSupport.Missing(model.Config));
        Assert.NotEmpty(model.Config.BeyondLlama());
        var api = RunAgainstCpu(model, partitionSize);
        foreach (var k in kernels.Split(','))
        {
            Assert.Contains(k, api.Launches);
        }
    }

    /// <summary>
    /// Qwen3-MoE with mlp_only_layers: layer 1 of 3 has a dense MLP of its own (GGUF: ffn_gate/up/down
    /// instead of the expert stacks), the others are sparse; each layer takes its own path.
    /// </summary>
    [Theory]
    [InlineData(TestModelFormat.HuggingFace)]
    [InlineData(TestModelFormat.Gguf)]
    public void Sparse_models_with_dense_layers_match_the_cpu_runner(TestModelFormat format)
    {
        using var model = Model(format, ArchitectureOptions(TestArchitecture.Qwen3Moe, 4, true, expertsPerToken: 4) with { Layers = 3, DenseLayers = [1] });
        Assert.Equal([1], model.Config.DenseMlpLayers);
        Assert.Empty(CudaArchitectureSupport.Missing(model.Config));
        var api = RunAgainstCpu(model, 16);
        Assert.Contains("folio_silu_and_mul_bf16", api.Launches);
        Assert.Contains("folio_moe_combine", api.Launches);
        // Two sparse layers a forward pass (one embedding launch each), the third dense.
        Assert.Equal(2 * api.Launches.Count(k => k == "folio_embedding_bf16"), api.Launches.Count(k => k == "folio_moe_route"));
    }

    /// <summary>
    /// A sequence's logits are bit for bit the same alone and beside another (the emulated GEMM is
    /// row by row, like the CPU backend's): the experts' grouping changes with the batch, but each
    /// row is computed alone and each token's experts are summed in rank order.
    /// </summary>
    [Fact]
    public void Moe_logits_do_not_depend_on_the_batch()
    {
        using var model = Model(TestModelFormat.HuggingFace, ArchitectureOptions(TestArchitecture.Qwen3Moe, 8, true, expertsPerToken: 2));
        var c = model.Config;
        using var gpu = new CudaModelRunner(model, new CudaRunnerOptions { NumBlocksOverride = 16, MaxNumBatchedTokens = 64, MaxNumSeqs = 4, MaxModelLen = 96, GraphBatchSizes = [] }, new EmuDeviceApi());
        var rng = new Random(5);
        var a = Enumerable.Range(0, 19).Select(_ => rng.Next(c.VocabSize)).ToArray();
        var b = Enumerable.Range(0, 23).Select(_ => rng.Next(c.VocabSize)).ToArray();
        var batch = new ForwardBatch(64, 4, 6);
        var alone = new float[c.VocabSize];
        var together = new float[2 * c.VocabSize];
        batch.AddSequence(a, 0, [0, 1], 16, wantLogits: true);
        gpu.Forward(batch, alone);
        batch.Clear();
        batch.AddSequence(b, 0, [2, 3], 16, wantLogits: true);
        batch.AddSequence(a, 0, [4, 5], 16, wantLogits: true);
        gpu.Forward(batch, together);
        Assert.Equal(alone, together.AsSpan(c.VocabSize).ToArray());
    }

    /// <summary>
    /// When every layer is local the KV cache gives back the blocks behind the window and their table
    /// entries read <see cref="KvBlockTable.Dropped"/> (-1). The kernels must never read them: a
    /// split-K decode step and a prefill chunk give bit for bit the logits they give with the full table.
    /// </summary>
    [Fact]
    public void Windowed_layers_never_read_block_table_entries_behind_the_window()
    {
        using var model = Model(TestModelFormat.HuggingFace, ArchitectureOptions(TestArchitecture.Mistral, 0, true));
        var c = model.Config;
        Assert.Equal(8, c.WindowOfEveryLayer);
        using var gpu = new CudaModelRunner(model, new CudaRunnerOptions { NumBlocksOverride = 8, MaxNumBatchedTokens = 64, MaxNumSeqs = 4, MaxModelLen = 96, PartitionSize = 16, GraphBatchSizes = [] }, new EmuDeviceApi());
        var rng = new Random(6);
        var prompt = Enumerable.Range(0, 60).Select(_ => rng.Next(c.VocabSize)).ToArray();
        int[] full = [3, 6, 1, 4, 7, 2];
        int[] dropped = [KvBlockTable.Dropped, KvBlockTable.Dropped, KvBlockTable.Dropped, 4, 7, 2];   // positions 0..47 are behind every window from 55 on
        var batch = new ForwardBatch(64, 4, 6);
        var scratch = new float[c.VocabSize];
        batch.AddSequence(prompt, 0, full, 16, wantLogits: true);
        gpu.Forward(batch, scratch);

        var viaFull = new float[c.VocabSize];
        var viaDropped = new float[c.VocabSize];
        foreach (var (tokens, what) in new[] { (new[] { 5 }, "split-K decode at 60"), (new[] { 5, 9, 11, 2 }, "prefill chunk at 60..63") })
        {
            batch.Clear();
            batch.AddSequence(tokens, 60, full, 16, wantLogits: true);
            gpu.Forward(batch, viaFull);
            batch.Clear();
            batch.AddSequence(tokens, 60, dropped, 16, wantLogits: true);
            gpu.Forward(batch, viaDropped);
            Assert.True(viaFull.AsSpan().SequenceEqual(viaDropped), what);
        }
    }

    private static TestModelOptions ArchitectureOptions(TestArchitecture arch, int experts, bool normTopK, int expertsPerToken = 2) => new()
    {
        Arch = arch,
        Dim = 64,
        Layers = 2,
        Heads = 4,
        KvHeads = 2,
        Ffn = 96,
        Vocab = 300,
        DType = DType.BF16,
        Experts = experts,
        ExpertsPerToken = expertsPerToken,
        NormTopK = normTopK,
        // Gemma: layer 0 local (an 8-token window), layer 1 global; Gemma 3's global rope base far
        // from its local one; soft-caps low enough that a tiny model's scores and logits feel them.
        SlidingWindowPattern = arch is TestArchitecture.Gemma2 or TestArchitecture.Gemma3 ? 2 : null,
        RopeTheta = arch == TestArchitecture.Gemma3 ? 1_000_000f : 10000f,
        AttentionSoftcap = 10f,
        FinalSoftcap = 5f,
        Seed = 11,
    };

    private static EmuDeviceApi RunAgainstCpu(LoadedModel model, int partitionSize)
    {
        var c = model.Config;
        int blockSize = 16, blocksPerSeq = 6, seqs = 2, poolBlocks = (seqs * blocksPerSeq) + 6;
        using var cpu = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = poolBlocks, BlockSize = blockSize, Threads = 1 });
        var api = new EmuDeviceApi();
        using var gpu = new CudaModelRunner(model,
            new CudaRunnerOptions { NumBlocksOverride = poolBlocks, MaxNumBatchedTokens = 64, MaxNumSeqs = 4, MaxModelLen = blocksPerSeq * blockSize, PartitionSize = partitionSize, GraphBatchSizes = [] },
            api);
        var rng = new Random(3);
        var promptA = Enumerable.Range(0, 37).Select(_ => rng.Next(c.VocabSize)).ToArray();
        var promptB = Enumerable.Range(0, 21).Select(_ => rng.Next(c.VocabSize)).ToArray();
        int[] tableA = [5, 0, 9, 2, 7, 11];
        int[] tableB = [1, 10, 3, 4, 6, 8];
        var batch = new ForwardBatch(64, 4, blocksPerSeq);
        var cpuLogits = new float[2 * c.VocabSize];
        var gpuLogits = new float[2 * c.VocabSize];

        // step 1: A's first chunk (20 tokens) and all of B
        batch.Clear();
        batch.AddSequence(promptA.AsSpan(0, 20), 0, tableA, blockSize, wantLogits: false);
        batch.AddSequence(promptB, 0, tableB, blockSize, wantLogits: true);
        Step(batch, cpu, gpu, cpuLogits, gpuLogits, "prefill chunk + whole prompt");

        // step 2: A's second chunk after its cached prefix, and B's first decode token (a mixed step)
        int nextB = SamplingReference.Argmax(cpuLogits.AsSpan(0, c.VocabSize));
        batch.Clear();
        batch.AddSequence(promptA.AsSpan(20), 20, tableA, blockSize, wantLogits: true);
        batch.AddSequence([nextB], promptB.Length, tableB, blockSize, wantLogits: true);
        Step(batch, cpu, gpu, cpuLogits, gpuLogits, "chunk after cached prefix + decode");

        // steps 3..8: both decode, fed the CPU's greedy tokens
        int lenA = promptA.Length, lenB = promptB.Length + 1;
        for (int i = 0; i < 6; i++)
        {
            int a = SamplingReference.Argmax(cpuLogits.AsSpan(0, c.VocabSize)), b = SamplingReference.Argmax(cpuLogits.AsSpan(c.VocabSize, c.VocabSize));
            batch.Clear();
            batch.AddSequence([a], lenA++, tableA, blockSize, wantLogits: true);
            batch.AddSequence([b], lenB++, tableB, blockSize, wantLogits: true);
            Step(batch, cpu, gpu, cpuLogits, gpuLogits, $"decode step {i}");
        }

        // Copy-on-write: A's cached blocks copied to fresh ones give bit-identical logits.
        int[] copyTable = [12, 13, 14, 15, 16, 17];
        gpu.CopyBlocks(tableA.AsSpan(0, 3), copyTable.AsSpan(0, 3));
        int t = SamplingReference.Argmax(cpuLogits.AsSpan(0, c.VocabSize));
        var viaOriginal = new float[c.VocabSize];
        var viaCopy = new float[c.VocabSize];
        batch.Clear();
        batch.AddSequence([t], lenA, tableA, blockSize, wantLogits: true);
        gpu.Forward(batch, viaOriginal);
        batch.Clear();
        batch.AddSequence([t], lenA, copyTable, blockSize, wantLogits: true);
        gpu.Forward(batch, viaCopy);
        Assert.Equal(viaOriginal, viaCopy);
        Assert.True(api.Binds > 0);

        // The runner took the attention path this case is about.
        bool split = partitionSize < lenA;
        Assert.Equal(split, api.Launches.Contains("folio_paged_attention_reduce_bf16"));
        Assert.Contains("folio_prefill_attention_bf16", api.Launches);
        Assert.Contains("folio_paged_attention_decode_bf16", api.Launches);
        return api;
    }

    private static void Step(ForwardBatch batch, CpuModelRunner cpu, CudaModelRunner gpu, float[] cpuLogits, float[] gpuLogits, string what)
    {
        int v = cpu.Config.VocabSize, rows = batch.NumLogitRows;
        cpu.Forward(batch, cpuLogits.AsSpan(0, rows * v));
        gpu.Forward(batch, gpuLogits.AsSpan(0, rows * v));
        for (int r = 0; r < rows; r++)
        {
            var e = cpuLogits.AsSpan(r * v, v);
            var g = gpuLogits.AsSpan(r * v, v);
            float lo = float.MaxValue, hi = float.MinValue, worst = 0;
            for (int i = 0; i < v; i++)
            {
                lo = Math.Min(lo, e[i]);
                hi = Math.Max(hi, e[i]);
                worst = Math.Max(worst, Math.Abs(e[i] - g[i]));
            }

            Assert.True(worst <= 0.03f * (hi - lo), $"{what}, row {r}: max logit difference {worst} over a range of {hi - lo}");
        }
    }
}
