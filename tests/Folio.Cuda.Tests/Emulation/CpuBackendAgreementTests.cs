using Folio.Cpu;
using Folio.Cuda.Kernels;
using Folio.Cuda.Tests.Reference;
using Folio.Models;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// The kernels, from their .cu sources through the host emulation, against the C# CPU backend's
/// own kernels (Folio.Cpu.CpuKernels) on the same random inputs: the two backends share one
/// KV layout and one scheduler, so they must compute the same thing.
/// </summary>
public sealed unsafe class CpuBackendAgreementTests
{
    public CpuBackendAgreementTests() => EmuLibrary.EnsureLoaded();

    private static float[] CpuAttention(PagedCase c)
    {
        int qDim = c.NumHeads * c.HeadDim;
        var q = new float[c.NumTokens * qDim];
        var positions = new int[c.NumTokens];
        for (int s = 0; s < c.NumSeqs; s++)
        {
            int qlen = c.QueryStart[s + 1] - c.QueryStart[s];
            for (int i = 0; i < qlen; i++)
            {
                int t = c.QueryStart[s] + i;
                positions[t] = c.ContextLens[s] - qlen + i;
                c.Q.AsSpan(t * c.QStride, qDim).CopyTo(q.AsSpan(t * qDim));
            }
        }

        var output = new float[c.NumTokens * qDim];
        CpuKernels.PagedAttention(q, c.KCache, c.VCache, c.BlockTables, c.MaxBlocks, c.QueryStart, positions, c.NumSeqs, c.BlockSize, c.NumHeads, c.NumKvHeads, c.HeadDim, output);
        return output;
    }

    [Theory]
    [InlineData(64, 16, 1)]
    [InlineData(80, 32, 4)]
    [InlineData(96, 16, 8)]
    [InlineData(112, 32, 1)]
    [InlineData(128, 16, 4)]
    [InlineData(256, 32, 8)]
    public void Decode_single_pass_and_split_k_agree_with_cpu_paged_attention(int headDim, int blockSize, int gqa)
    {
        var c = new PagedCase(headDim * 3 + gqa, headDim, blockSize, numKvHeads: 1, gqa, [700, 61, 1], [1, 1, 1], bf16: false);
        var cpu = CpuAttention(c);
        Rand.AssertClose(cpu, EmuAttention.Decode(c, bf16: false, partitionSize: 0), 1e-5, 1e-4, "decode vs CPU");
        Rand.AssertClose(cpu, EmuAttention.Decode(c, bf16: false, partitionSize: 256), 1e-5, 1e-4, "split-K vs CPU");
    }

    [Theory]
    [InlineData(64, 32, 8)]
    [InlineData(128, 16, 1)]
    [InlineData(80, 16, 4)]
    public void Prefill_agrees_with_cpu_paged_attention_on_mixed_chunks(int headDim, int blockSize, int gqa)
    {
        var c = new PagedCase(headDim + blockSize + gqa, headDim, blockSize, numKvHeads: 2, gqa, [19, 100, 45], [19, 30, 1], bf16: false);
        Rand.AssertClose(CpuAttention(c), EmuAttention.Prefill(c, bf16: false), 1e-5, 1e-4, "prefill vs CPU");
    }

    [Fact]
    public void Context_of_4096_agrees_with_cpu_paged_attention()
    {
        var c = new PagedCase(4096, 128, 16, numKvHeads: 1, 8, [4096], [1], bf16: false);
        var cpu = CpuAttention(c);
        Rand.AssertClose(cpu, EmuAttention.Decode(c, bf16: false, partitionSize: 0), 1e-5, 2e-4, "4096 single pass vs CPU");
        Rand.AssertClose(cpu, EmuAttention.Decode(c, bf16: false, partitionSize: 512), 1e-5, 2e-4, "4096 split-K vs CPU");
    }

    [Theory]
    [InlineData(RopeStyle.RotateHalf, 128)]
    [InlineData(RopeStyle.Interleaved, 64)]
    public void Rotary_agrees_with_cpu_rope_including_llama3_scaling(RopeStyle style, int headDim)
    {
        var rng = new Random(headDim);
        int tokens = 5, heads = 8, kvHeads = 2;
        int stride = (heads + (2 * kvHeads)) * headDim;
        var qkv = Rand.Uniform(rng, tokens * stride, 2f);
        int[] positions = [0, 3, 100, 4095, 9000];
        var invFreq = RotaryEmbedding.InverseFrequencies(headDim, 500000f, new Llama3RopeScaling(8f, 1f, 4f, 8192));
        var cpu = (float[])qkv.Clone();
        CpuKernels.Rope(cpu, positions, tokens, stride, heads, headDim, invFreq, style);
        CpuKernels.Rope(cpu.AsSpan(heads * headDim), positions, tokens, stride, kvHeads, headDim, invFreq, style);
        fixed (float* q = qkv)
        fixed (double* f = invFreq)
        fixed (int* p = positions)
        {
            EmuKernels.Rotary(tokens, 1, 1, KernelShapes.SmallThreads, 0, q, q + (heads * headDim), p, f, stride, stride, heads, kvHeads, headDim, headDim, style == RopeStyle.Interleaved ? 1 : 0, 1f);
        }

        Rand.AssertClose(cpu, qkv, 1e-6, 1e-6, "rotary vs CPU");
    }

    /// <summary>
    /// Partial rotary (Phi-3's partial_rotary_factor: only the first rotaryDim dimensions of a head
    /// rotate, the rest pass through bit for bit) and the attention factor YaRN and LongRoPE put on
    /// cos and sin, against the CPU backend's own angles (RotaryEmbedding.Angles, f64 times the factor,
    /// rounded once) and rotation (CpuKernels.Rope over the rotated part of each head).
    /// </summary>
    [Theory]
    [InlineData(RopeStyle.RotateHalf, 96, 32, "longrope")]
    [InlineData(RopeStyle.RotateHalf, 64, 64, "yarn")]
    [InlineData(RopeStyle.Interleaved, 128, 64, "yarn")]
    [InlineData(RopeStyle.RotateHalf, 80, 40, "none")]
    public void Rotary_agrees_with_cpu_rope_for_partial_rotary_and_scaled_cos_sin(RopeStyle style, int headDim, int rotaryDim, string scaling)
    {
        var rng = new Random(headDim + rotaryDim);
        int tokens = 5, heads = 6, kvHeads = 2, half = rotaryDim / 2;
        int stride = (heads + (2 * kvHeads)) * headDim;
        RotaryScaling? rs = scaling switch
        {
            "longrope" => new LongRopeScaling([.. Enumerable.Range(0, half).Select(i => 1f + (0.1f * i))], [.. Enumerable.Range(0, half).Select(i => 2f + (0.5f * i))], 4096, LongRopeScaling.DefaultAttentionFactor(131072.0 / 4096, 4096)),
            "yarn" => new YarnRopeScaling(4f, 4096, 32f, 1f, YarnRopeScaling.DefaultAttentionFactor(4)),
            _ => null,
        };
        var qkv = Rand.Uniform(rng, tokens * stride, 2f);
        int[] positions = [0, 3, 100, 4095, 9000];
        var invFreq = RopeFrequencies.Inverse(rotaryDim, 10000f, rs, 131072);
        double factor = RopeFrequencies.AttentionFactor(rs);
        Assert.Equal(scaling == "none", factor == 1.0);

        // The CPU backend's rotation: its angles times the factor, pairs (i, i + rotaryDim/2) or (2i, 2i + 1).
        var cpu = (float[])qkv.Clone();
        var cos = new float[half];
        var sin = new float[half];
        for (int t = 0; t < tokens; t++)
        {
            RotaryEmbedding.Angles(positions[t], invFreq, cos, sin, factor);
            for (int h = 0; h < heads + kvHeads; h++)
            {
                int o = (t * stride) + (h * headDim);
                for (int i = 0; i < half; i++)
                {
                    int a = o + (style == RopeStyle.Interleaved ? 2 * i : i), b = o + (style == RopeStyle.Interleaved ? (2 * i) + 1 : i + half);
                    float x1 = cpu[a], x2 = cpu[b];
                    cpu[a] = (x1 * cos[i]) - (x2 * sin[i]);
                    cpu[b] = (x2 * cos[i]) + (x1 * sin[i]);
                }
            }
        }

        if (factor == 1.0)
        {
            // Unscaled, CpuKernels.Rope itself over the first rotaryDim dimensions of each head gives the same.
            var viaRope = (float[])qkv.Clone();
            for (int h = 0; h < heads + kvHeads; h++)
            {
                CpuKernels.Rope(viaRope.AsSpan(h * headDim), positions, tokens, stride, 1, rotaryDim, invFreq, style);
            }

            Assert.Equal(cpu, viaRope);
        }

        fixed (float* q = qkv)
        fixed (double* f = invFreq)
        fixed (int* p = positions)
        {
            EmuKernels.Rotary(tokens, 1, 1, KernelShapes.SmallThreads, 0, q, q + (heads * headDim), p, f, stride, stride, heads, kvHeads, headDim, rotaryDim, style == RopeStyle.Interleaved ? 1 : 0, (float)factor);
        }

        Rand.AssertClose(cpu, qkv, 1e-6, 1e-6, $"rotary ({rotaryDim} of {headDim}, {scaling}) vs CPU");
        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < heads + kvHeads; h++)
            {
                int o = (t * stride) + (h * headDim) + rotaryDim;
                Assert.Equal(cpu.AsSpan(o, headDim - rotaryDim).ToArray(), qkv.AsSpan(o, headDim - rotaryDim).ToArray());
            }
        }
    }

    [Fact]
    public void Rms_norm_silu_and_mul_embedding_and_cache_writes_agree_with_cpu_kernels()
    {
        var rng = new Random(21);
        int rows = 3, hidden = 320, inter = 500, vocab = 40, kvHeads = 2, headDim = 64, blockSize = 16;

        var x = Rand.Uniform(rng, rows * hidden, 2f);
        var w = Rand.Uniform(rng, hidden);
        var cpuNorm = new float[rows * hidden];
        CpuKernels.RmsNorm(x, w, cpuNorm, rows, hidden, 1e-5f);
        var gpuNorm = new float[rows * hidden];
        fixed (float* o = gpuNorm, r = x, wp = w)
        {
            EmuKernels.RmsNormF32(rows, 1, 1, KernelShapes.RowThreads, 0, o, r, null, wp, 1e-5f, 0f, hidden);
        }

        Rand.AssertClose(cpuNorm, gpuNorm, 1e-6, 1e-5, "rms norm vs CPU");

        var gateUp = Rand.Uniform(rng, rows * 2 * inter, 5f);
        var cpuAct = new float[rows * inter];
        for (int t = 0; t < rows; t++)
        {
            CpuKernels.SiluAndMul(gateUp.AsSpan(t * 2 * inter, inter), gateUp.AsSpan((t * 2 * inter) + inter, inter), cpuAct.AsSpan(t * inter, inter));
        }

        var gpuAct = new float[rows * inter];
        fixed (float* o = gpuAct, g = gateUp)
        {
            EmuKernels.SiluAndMulF32(rows, 1, 1, KernelShapes.RowThreads, 0, o, g, inter);
        }

        Rand.AssertClose(cpuAct, gpuAct, 1e-6, 1e-5, "silu_and_mul vs CPU");

        var table = Rand.Uniform(rng, vocab * hidden);
        int[] ids = [5, 39, 0, 5];
        var cpuEmb = new float[ids.Length * hidden];
        CpuKernels.Embedding(ids, table, cpuEmb, hidden);
        var gpuEmb = new float[ids.Length * hidden];
        fixed (float* o = gpuEmb, tb = table)
        fixed (int* ip = ids)
        {
            EmuKernels.EmbeddingF32(ids.Length, 1, 1, KernelShapes.RowThreads, 0, o, tb, ip, hidden, vocab, 1f);
        }

        Rand.AssertClose(cpuEmb, gpuEmb, 0, 0, "embedding vs CPU");

        int kvDim = kvHeads * headDim, pool = 4 * blockSize * kvDim;
        var k = Rand.Uniform(rng, rows * kvDim);
        var v = Rand.Uniform(rng, rows * kvDim);
        int[] slots = [17, -1, 63];
        var cpuK = new float[pool];
        var cpuV = new float[pool];
        CpuKernels.ReshapeAndCache(k, v, slots, cpuK, cpuV, rows, kvDim);
        var gpuK = new float[pool];
        var gpuV = new float[pool];
        fixed (float* kp = k, vp = v, gk = gpuK, gv = gpuV)
        fixed (int* sp = slots)
        {
            EmuKernels.ReshapeAndCacheF32(rows, 1, 1, KernelShapes.SmallThreads, 0, kp, vp, gk, gv, sp, kvDim, kvDim, kvHeads, headDim);
        }

        Rand.AssertClose(cpuK, gpuK, 0, 0, "k cache vs CPU");
        Rand.AssertClose(cpuV, gpuV, 0, 0, "v cache vs CPU");
    }
}
