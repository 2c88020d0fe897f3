using Folio.Cuda.Kernels;
using Folio.Cuda.Runner;
using Folio.Cuda.Tests.Reference;
using static Folio.Cuda.Tests.Emulation.EmuRun;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// The kernels of the architectures beyond Llama (norm.cu's offset, sandwich and q/k norms,
/// activation.cu's GeGLU and soft-cap, embedding.cu's scale, moe.cu) through the emulation, against
/// float64 definitions of the CPU backend's math (<see cref="ArchitectureReference"/>).
/// </summary>
public sealed unsafe class ArchitectureKernelTests
{
    private const int Rt = KernelShapes.RowThreads;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rms_norm_multiplies_by_offset_plus_weight(bool bf16)
    {
        var rng = new Random(11);
        int rows = 3, hidden = 640;
        var residual = Rand.Uniform(rng, rows * hidden, 2f);
        var weight = Bf16.Decode(Bf16.Encode(Rand.Uniform(rng, hidden, 0.1f)));   // Gemma's w sits near 0; 1 + w is applied
        var expected = ArchitectureReference.RmsNorm(ArchitectureReference.ToDouble(residual), weight, hidden, 1e-6, 1.0);
        fixed (float* r = residual, w = weight)
        fixed (ushort* w16 = Bf16.Encode(weight))
        {
            if (bf16)
            {
                var output = new ushort[rows * hidden];
                fixed (ushort* o = output)
                {
                    Launch("folio_rms_norm_bf16", (rows, 1, 1), Rt, 0, new KernelArgs().Ptr(P(o)).Ptr(P(r)).Ptr(0UL).Ptr(P(w16)).Float(1e-6f).Float(1f).Int(hidden));
                }

                Rand.AssertClose(expected, Bf16.Decode(output), 1e-6, 1.0 / 256, "rms norm (1 + w) bf16");
            }
            else
            {
                var output = new float[rows * hidden];
                fixed (float* o = output)
                {
                    Launch("folio_rms_norm_f32", (rows, 1, 1), Rt, 0, new KernelArgs().Ptr(P(o)).Ptr(P(r)).Ptr(0UL).Ptr(P(w)).Float(1e-6f).Float(1f).Int(hidden));
                }

                Rand.AssertClose(expected, output, 1e-6, 1e-5, "rms norm (1 + w) f32");
            }
        }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public void Sandwich_norm_normalises_the_branch_adds_it_then_normalises_the_sum(float offset)
    {
        var rng = new Random(12);
        int rows = 4, hidden = 384;
        var residual = Rand.Uniform(rng, rows * hidden, 2f);
        var x = Rand.Uniform(rng, rows * hidden, 5f);
        var post = Rand.Uniform(rng, hidden, 0.5f);
        var pre = Rand.Uniform(rng, hidden, 0.5f);
        var branch = ArchitectureReference.RmsNorm(ArchitectureReference.ToDouble(x), post, hidden, 1e-6, offset);
        var sum = ArchitectureReference.ToDouble(residual).Zip(branch, (a, b) => a + b).ToArray();
        var expected = ArchitectureReference.RmsNorm(sum, pre, hidden, 1e-6, offset);
        var output = new float[rows * hidden];
        fixed (float* o = output, r = residual, xp = x, wpost = post, wpre = pre)
        {
            Launch("folio_sandwich_norm_f32", (rows, 1, 1), Rt, 0, new KernelArgs().Ptr(P(o)).Ptr(P(r)).Ptr(P(xp)).Ptr(P(wpost)).Ptr(P(wpre)).Float(1e-6f).Float(offset).Int(hidden));
        }

        Rand.AssertClose(sum, residual, 1e-5, 1e-5, "residual + post-normed branch");
        Rand.AssertClose(expected, output, 1e-5, 1e-5, "pre-norm of the new residual");
    }

    [Theory]
    [InlineData(64, 4, 2, 0f)]
    [InlineData(128, 5, 1, 0f)]
    [InlineData(256, 8, 4, 1f)]
    [InlineData(80, 3, 3, 0f)]
    public void Qk_norm_normalises_every_head_of_q_and_k_in_place_and_leaves_v(int headDim, int heads, int kvHeads, float offset)
    {
        var rng = new Random(headDim + heads);
        int tokens = 5, stride = (heads + (2 * kvHeads)) * headDim;
        var qkv = Rand.Uniform(rng, tokens * stride, 4f);
        var qw = Bf16.Decode(Bf16.Encode(Rand.Uniform(rng, headDim)));
        var kw = Bf16.Decode(Bf16.Encode(Rand.Uniform(rng, headDim)));
        var expected = ArchitectureReference.ToDouble(qkv);
        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < heads + kvHeads; h++)
            {
                int at = (t * stride) + (h * headDim);
                var normed = ArchitectureReference.RmsNorm(expected.AsSpan(at, headDim), h < heads ? qw : kw, headDim, 1e-6, offset);
                normed.CopyTo(expected.AsSpan(at, headDim));
            }
        }

        fixed (float* x = qkv)
        fixed (ushort* q16 = Bf16.Encode(qw), k16 = Bf16.Encode(kw))
        {
            Launch("folio_qk_norm_bf16", (tokens, 1, 1), KernelShapes.SmallThreads, 0, new KernelArgs().Ptr(P(x)).Ptr(P(x + (heads * headDim))).Ptr(P(q16)).Ptr(P(k16))
                .Int(stride).Int(stride).Int(heads).Int(kvHeads).Int(headDim).Float(1e-6f).Float(offset));
        }

        Rand.AssertClose(expected, qkv, 1e-5, 1e-5, "q/k norm (v untouched)");
    }

    [Fact]
    public void Gelu_tanh_and_mul_matches_gelu_pytorch_tanh()
    {
        var rng = new Random(13);
        int rows = 3, inter = 700;
        var gateUp = Rand.Uniform(rng, rows * 2 * inter, 6f);
        var expected = ArchitectureReference.GeluTanhAndMul(gateUp, rows, inter);
        var output = new float[rows * inter];
        var output16 = new ushort[rows * inter];
        fixed (float* o = output, g = gateUp)
        fixed (ushort* o16 = output16)
        {
            Launch("folio_gelu_tanh_and_mul_f32", (rows, 1, 1), Rt, 0, new KernelArgs().Ptr(P(o)).Ptr(P(g)).Int(inter));
            Launch("folio_gelu_tanh_and_mul_bf16", (rows, 1, 1), Rt, 0, new KernelArgs().Ptr(P(o16)).Ptr(P(g)).Int(inter));
        }

        Rand.AssertClose(expected, output, 1e-6, 1e-5, "geglu f32");
        Rand.AssertClose(expected, Bf16.Decode(output16), 1e-6, 1.0 / 256, "geglu bf16");
    }

    [Fact]
    public void Softcap_maps_each_logit_to_cap_tanh_of_logit_over_cap()
    {
        var rng = new Random(14);
        int rows = 2, vocab = 1001;
        var logits = Rand.Uniform(rng, rows * vocab, 80f);
        var expected = logits.Select(z => 30.0 * Math.Tanh(z / 30.0)).ToArray();
        fixed (float* l = logits)
        {
            Launch("folio_softcap", (rows, 1, 1), Rt, 0, new KernelArgs().Ptr(P(l)).Int(vocab).Float(30f));
        }

        Rand.AssertClose(expected, logits, 1e-5, 1e-5, "final-logit soft-cap");
    }

    [Fact]
    public void Embedding_rows_are_multiplied_by_the_scale()
    {
        var rng = new Random(15);
        int vocab = 50, hidden = 96;
        var table = Bf16.Decode(Bf16.Encode(Rand.Uniform(rng, vocab * hidden)));
        int[] ids = [3, 49, 0, 3];
        float scale = MathF.Sqrt(hidden);
        var output = new float[ids.Length * hidden];
        fixed (float* o = output)
        fixed (ushort* t = Bf16.Encode(table))
        fixed (int* ip = ids)
        {
            Launch("folio_embedding_bf16", (ids.Length, 1, 1), Rt, 0, new KernelArgs().Ptr(P(o)).Ptr(P(t)).Ptr(P(ip)).Int(hidden).Int(vocab).Float(scale));
        }

        var expected = ids.SelectMany(id => table.AsSpan(id * hidden, hidden).ToArray().Select(v => v * scale)).ToArray();
        Rand.AssertClose(expected, output, 0, 0, "scaled embedding (x * scale in f32, as the CPU backend)");
    }

    /// <param name="sharedGate">a shared expert's gate column after the experts' logits (rows experts + 1 apart), which routing must leave alone.</param>
    [Theory]
    [InlineData(8, 2, true, false)]
    [InlineData(16, 4, false, false)]
    [InlineData(128, 8, true, false)]
    [InlineData(8, 2, false, true)]
    public void Moe_route_picks_the_top_k_by_softmax_with_ties_to_the_lower_id(int experts, int k, bool renormalize, bool sharedGate)
    {
        var rng = new Random(experts + k);
        int tokens = 37, stride = experts + (sharedGate ? 1 : 0);
        var logits = Rand.Uniform(rng, tokens * experts, 4f);
        // Token 0: every logit equal, so the first k ids win; token 1: a tie at the top between ids 5 and 2.
        Array.Fill(logits, 0.5f, 0, experts);
        logits[experts + 5] = logits[experts + 2] = 9f;
        var (ids, weights) = ArchitectureReference.Route(logits, tokens, experts, k, renormalize);
        var strided = new float[tokens * stride];
        for (int t = 0; t < tokens; t++)
        {
            logits.AsSpan(t * experts, experts).CopyTo(strided.AsSpan(t * stride));
            if (sharedGate)
            {
                strided[(t * stride) + experts] = 100f + t;
            }
        }

        var gotIds = new int[tokens * k];
        var gotWeights = new float[tokens * k];
        fixed (float* l = strided, w = gotWeights)
        fixed (int* e = gotIds)
        {
            int st = KernelShapes.SmallThreads;
            Launch("folio_moe_route", ((tokens + st - 1) / st, 1, 1), st, 0, new KernelArgs().Ptr(P(e)).Ptr(P(w)).Ptr(P(l)).Int(tokens).Int(experts).Int(stride).Int(k).Int(renormalize ? 1 : 0));
        }

        if (sharedGate)
        {
            Assert.All(Enumerable.Range(0, tokens), t => Assert.Equal(100f + t, strided[(t * stride) + experts]));
        }

        Assert.Equal(ids, gotIds);
        Assert.Equal(Enumerable.Range(0, k), gotIds.Take(k));
        Assert.Equal([2, 5], gotIds.Skip(k).Take(2));
        Rand.AssertClose(weights, gotWeights, 1e-6, 1e-5, "routing weights");
    }

    /// <param name="shared">Qwen2-MoE: a shared expert's output added, scaled by sigmoid of its gate logit (the router's extra column).</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Moe_group_gather_and_combine_sum_each_tokens_experts_in_rank_order(bool shared)
    {
        var rng = new Random(16);
        int tokens = 23, experts = 6, k = 3, hidden = 72, slots = tokens * k;
        // Each token's k distinct experts; expert 4 gets none.
        var expert = new int[slots];
        for (int t = 0; t < tokens; t++)
        {
            var pick = new[] { 0, 1, 2, 3, 5 }.OrderBy(_ => rng.Next()).Take(k).ToArray();
            pick.CopyTo(expert, t * k);
        }

        var weight = Rand.Uniform(rng, slots);
        var input16 = Bf16.Encode(Rand.Uniform(rng, tokens * hidden));
        var offsets = new int[experts + 1];
        var rowOfSlot = new int[slots];
        var slotOfRow = new int[slots];
        var gathered = new ushort[slots * hidden];
        var expertOut = Rand.Uniform(rng, slots * hidden);
        var combined = new float[tokens * hidden];
        int gateStride = experts + 1;
        var sharedOut = Rand.Uniform(rng, tokens * hidden);
        var router = Rand.Uniform(rng, tokens * gateStride, 3f);
        fixed (int* e = expert, off = offsets, ros = rowOfSlot, sor = slotOfRow)
        fixed (ushort* inp = input16, g = gathered)
        fixed (float* w = weight, eo = expertOut, c = combined, so = sharedOut, ro = router)
        {
            Launch("folio_moe_group", (1, 1, 1), KernelShapes.SmallThreads, 0, new KernelArgs().Ptr(P(off)).Ptr(P(ros)).Ptr(P(sor)).Ptr(P(e)).Int(slots).Int(experts));
            Launch("folio_moe_gather_bf16", (slots, 1, 1), Rt, 0, new KernelArgs().Ptr(P(g)).Ptr(P(inp)).Ptr(P(sor)).Int(k).Int(hidden));
            Launch("folio_moe_combine", (tokens, 1, 1), Rt, 0, new KernelArgs().Ptr(P(c)).Ptr(P(eo)).Ptr(P(ros)).Ptr(P(w)).Int(k).Int(hidden)
                .Ptr(shared ? P(so) : 0UL).Ptr(P(ro + experts)).Int(gateStride));
        }

        // Rows grouped by expert, slots in order inside each expert (the CPU runner's grouping).
        var order = Enumerable.Range(0, slots).OrderBy(s => expert[s]).ThenBy(s => s).ToArray();
        Assert.Equal(order, slotOfRow);
        for (int e = 0; e < experts; e++)
        {
            Assert.Equal(expert.Count(x => x < e), offsets[e]);
        }

        Assert.Equal(slots, offsets[experts]);
        Assert.Equal(0, offsets[5] - offsets[4]);
        for (int row = 0; row < slots; row++)
        {
            Assert.Equal(row, rowOfSlot[slotOfRow[row]]);
            Assert.Equal(input16.AsSpan(slotOfRow[row] / k * hidden, hidden).ToArray(), gathered.AsSpan(row * hidden, hidden).ToArray());
        }

        var expected = new float[tokens * hidden];
        for (int t = 0; t < tokens; t++)
        {
            for (int i = 0; i < hidden; i++)
            {
                float a = 0;
                for (int j = 0; j < k; j++)
                {
                    float v = weight[(t * k) + j] * expertOut[(rowOfSlot[(t * k) + j] * hidden) + i];
                    a = j == 0 ? v : a + v;
                }

                if (shared)
                {
                    // The CPU backend's CombineExperts: + sigmoid(gate) * shared, one fused multiply-add.
                    float gate = 1f / (1f + MathF.Exp(-router[(t * gateStride) + experts]));
                    a = MathF.FusedMultiplyAdd(gate, sharedOut[(t * hidden) + i], a);
                }

                expected[(t * hidden) + i] = a;
            }
        }

        // expf may differ from MathF.Exp in the last bit, so the shared variant is compared to 1e-6.
        Rand.AssertClose(expected, combined, 0, shared ? 1e-6 : 0, "combine, in rank order (bit for bit without a shared expert)");
    }
}
