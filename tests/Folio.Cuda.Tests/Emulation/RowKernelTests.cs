using Folio.Cuda.Kernels;
using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>norm.cu, rotary.cu, activation.cu, embedding.cu and cache.cu through the emulation, against float64 references.</summary>
public sealed unsafe class RowKernelTests
{
    private const int Rt = KernelShapes.RowThreads;

    public RowKernelTests() => EmuLibrary.EnsureLoaded();

    [Theory]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(4096)]
    public void Fused_add_rms_norm_adds_into_residual_and_normalises(int hidden)
    {
        var rng = new Random(hidden);
        int rows = 3;
        var residual = Rand.Uniform(rng, rows * hidden, 2f);
        var x = Rand.Uniform(rng, rows * hidden);
        var weight = Rand.Uniform(rng, hidden);
        var sum = residual.Zip(x, (a, b) => a + b).ToArray();
        var expected = RowReference.RmsNorm(sum, weight, rows, hidden, 1e-5);
        var output = new float[rows * hidden];
        fixed (float* o = output, r = residual, xp = x, w = weight)
        {
            EmuKernels.RmsNormF32(rows, 1, 1, Rt, 0, o, r, xp, w, 1e-5f, 0f, hidden);
        }

        Rand.AssertClose(sum, residual, 0, 0, "residual after add");
        Rand.AssertClose(expected, output, 1e-5, 1e-5, "rms norm f32");
    }

    [Fact]
    public void Rms_norm_without_addend_leaves_residual_and_writes_bf16()
    {
        var rng = new Random(3);
        int rows = 2, hidden = 576;
        var residual = Rand.Uniform(rng, rows * hidden, 3f);
        var before = (float[])residual.Clone();
        var weight = Bf16.Decode(Bf16.Encode(Rand.Uniform(rng, hidden)));
        var w16 = Bf16.Encode(weight);
        var expected = RowReference.RmsNorm(residual, weight, rows, hidden, 1e-6);
        var output = new ushort[rows * hidden];
        fixed (ushort* o = output, w = w16)
        fixed (float* r = residual)
        {
            EmuKernels.RmsNormBf16(rows, 1, 1, Rt, 0, o, r, null, w, 1e-6f, 0f, hidden);
        }

        Rand.AssertClose(before, residual, 0, 0, "residual untouched");
        Rand.AssertClose(expected, Bf16.Decode(output), 1e-6, 1.0 / 256, "rms norm bf16");
    }

    [Theory]
    [InlineData(false, 64)]
    [InlineData(true, 64)]
    [InlineData(false, 128)]
    [InlineData(true, 80)]
    public void Rotary_rotates_q_and_k_heads_in_both_pairings_with_llama3_frequencies(bool interleaved, int headDim)
    {
        var rng = new Random(headDim + (interleaved ? 1 : 0));
        int tokens = 4, heads = 4, kvHeads = 2;
        int qStride = (heads + (2 * kvHeads)) * headDim; // q, k, v side by side
        var qkv = Rand.Uniform(rng, tokens * qStride);
        int[] positions = [0, 1, 517, 8191];
        var invFreq = RowReference.Llama3InvFreq(headDim, 500000, 8, 1, 4, 8192);
        var expected = (float[])qkv.Clone();
        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < heads + kvHeads; h++)
            {
                int off = (t * qStride) + (h * headDim);
                var head = expected.AsSpan(off, headDim).ToArray().Select(v => (double)v).ToArray();
                RowReference.Rope(head, positions[t], invFreq, interleaved);
                for (int d = 0; d < headDim; d++)
                {
                    expected[off + d] = (float)head[d];
                }
            }
        }

        fixed (float* q = qkv)
        fixed (double* f = invFreq)
        fixed (int* p = positions)
        {
            EmuKernels.Rotary(tokens, 1, 1, KernelShapes.SmallThreads, 0, q, q + (heads * headDim), p, f, qStride, qStride, heads, kvHeads, headDim, headDim, interleaved ? 1 : 0, 1f);
        }

        // angles in f64, cos/sin rounded to f32, rotation in f32
        Rand.AssertClose(expected, qkv, 2e-6, 2e-6, "rotary");
    }

    [Fact]
    public void Silu_and_mul_multiplies_silu_of_gate_by_up()
    {
        var rng = new Random(11);
        int tokens = 3, inter = 700;
        var gateUp = Rand.Uniform(rng, tokens * 2 * inter, 6f);
        var expected = new double[tokens * inter];
        for (int t = 0; t < tokens; t++)
        {
            for (int i = 0; i < inter; i++)
            {
                double g = gateUp[(t * 2 * inter) + i], u = gateUp[(t * 2 * inter) + inter + i];
                expected[(t * inter) + i] = g / (1 + Math.Exp(-g)) * u;
            }
        }

        var out32 = new float[tokens * inter];
        var out16 = new ushort[tokens * inter];
        fixed (float* gu = gateUp, o = out32)
        fixed (ushort* o16 = out16)
        {
            EmuKernels.SiluAndMulF32(tokens, 1, 1, Rt, 0, o, gu, inter);
            EmuKernels.SiluAndMulBf16(tokens, 1, 1, Rt, 0, o16, gu, inter);
        }

        Rand.AssertClose(expected, out32, 1e-6, 1e-5, "silu_and_mul f32");
        Rand.AssertClose(expected, Bf16.Decode(out16), 1e-6, 1.0 / 256, "silu_and_mul bf16");
    }

    [Fact]
    public void Embedding_gathers_rows_and_zeroes_out_of_range_ids()
    {
        var rng = new Random(5);
        int vocab = 50, hidden = 300;
        var table = Bf16.Decode(Bf16.Encode(Rand.Uniform(rng, vocab * hidden)));
        var table16 = Bf16.Encode(table);
        int[] ids = [7, 0, 49, 7, -1, 50];
        var out32 = new float[ids.Length * hidden];
        var outB = new float[ids.Length * hidden];
        fixed (float* tb = table, o = out32, ob = outB)
        fixed (ushort* t16 = table16)
        fixed (int* ip = ids)
        {
            EmuKernels.EmbeddingF32(ids.Length, 1, 1, Rt, 0, o, tb, ip, hidden, vocab, 1f);
            EmuKernels.EmbeddingBf16(ids.Length, 1, 1, Rt, 0, ob, t16, ip, hidden, vocab, 1f);
        }

        for (int t = 0; t < ids.Length; t++)
        {
            var expected = ids[t] is >= 0 and < 50 ? table.AsSpan(ids[t] * hidden, hidden) : new float[hidden];
            Rand.AssertClose(expected, out32.AsSpan(t * hidden, hidden), 0, 0, $"embedding f32 row {t}");
            Rand.AssertClose(expected, outB.AsSpan(t * hidden, hidden), 0, 0, $"embedding bf16 row {t}");
        }
    }

    [Fact]
    public void Add_bias_and_gather_rows_do_what_they_say()
    {
        var rng = new Random(8);
        int rows = 4, n = 96;
        var x = Rand.Uniform(rng, rows * n);
        var bias = Bf16.Decode(Bf16.Encode(Rand.Uniform(rng, n)));
        var b16 = Bf16.Encode(bias);
        var expected = x.Select((v, i) => v + bias[i % n]).ToArray();
        var gathered = new float[2 * n];
        int[] pick = [3, 1];
        fixed (float* xp = x, g = gathered)
        fixed (ushort* bp = b16)
        fixed (int* pp = pick)
        {
            EmuKernels.AddBiasBf16(rows, 1, 1, Rt, 0, xp, bp, n);
            EmuKernels.GatherRows(2, 1, 1, Rt, 0, g, xp, pp, n);
        }

        Rand.AssertClose(expected, x, 0, 0, "add bias");
        Rand.AssertClose(expected.AsSpan(3 * n, n), gathered.AsSpan(0, n), 0, 0, "gather row 3");
        Rand.AssertClose(expected.AsSpan(n, n), gathered.AsSpan(n, n), 0, 0, "gather row 1");
    }

    [Theory]
    [InlineData(16, 64)]
    [InlineData(32, 128)]
    public void Reshape_and_cache_writes_each_token_at_its_slot_and_skips_padding(int blockSize, int headDim)
    {
        var rng = new Random(blockSize);
        int kvHeads = 2, numBlocks = 5, tokens = 4;
        int stride = (4 + (2 * kvHeads)) * headDim;  // rows of a fused qkv tensor
        var qkv = Rand.Uniform(rng, tokens * stride);
        int kOff = 4 * headDim, vOff = (4 + kvHeads) * headDim;
        int[] slots = [3 * blockSize, (3 * blockSize) + 1, -1, (1 * blockSize) + blockSize - 1];
        int cacheLen = numBlocks * blockSize * kvHeads * headDim;
        var kc = new float[cacheLen];
        var vc = new float[cacheLen];
        var kc16 = new ushort[cacheLen];
        var vc16 = new ushort[cacheLen];
        fixed (float* p = qkv, k = kc, v = vc)
        fixed (ushort* k16 = kc16, v16 = vc16)
        fixed (int* sp = slots)
        {
            EmuKernels.ReshapeAndCacheF32(tokens, 1, 1, KernelShapes.SmallThreads, 0, p + kOff, p + vOff, k, v, sp, stride, stride, kvHeads, headDim);
            EmuKernels.ReshapeAndCacheBf16(tokens, 1, 1, KernelShapes.SmallThreads, 0, p + kOff, p + vOff, k16, v16, sp, stride, stride, kvHeads, headDim);
        }

        var expectK = new float[cacheLen];
        var expectV = new float[cacheLen];
        for (int t = 0; t < tokens; t++)
        {
            if (slots[t] < 0)
            {
                continue;
            }

            for (int i = 0; i < kvHeads * headDim; i++)
            {
                // layout [block, offset, kvHead, dim]: slot s, head h, dim d at (s*kvHeads + h)*headDim + d
                expectK[(slots[t] * kvHeads * headDim) + i] = qkv[(t * stride) + kOff + i];
                expectV[(slots[t] * kvHeads * headDim) + i] = qkv[(t * stride) + vOff + i];
            }
        }

        Rand.AssertClose(expectK, kc, 0, 0, "k cache");
        Rand.AssertClose(expectV, vc, 0, 0, "v cache");
        Rand.AssertClose(expectK.Select(Bf16.Round).ToArray(), Bf16.Decode(kc16), 0, 0, "k cache bf16");
        Rand.AssertClose(expectV.Select(Bf16.Round).ToArray(), Bf16.Decode(vc16), 0, 0, "v cache bf16");
    }
}
