using Folio.Cpu;
using Folio.Models;

using Folio.Testing;

namespace Folio.Cpu.Tests;

public sealed class CpuKernelsTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 64, 17)]
    [InlineData(5, 65, 33)]
    [InlineData(9, 130, 200)]
    public void Matmul_matches_a_naive_double_product_and_each_row_is_independent_of_the_others(int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n);
        var x = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var bias = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var y = new float[m * n];
        CpuKernels.Matmul(x, w, y, m, n, k, bias);
        for (int r = 0; r < m; r++)
        {
            var single = new float[n];
            CpuKernels.Matmul(x.AsSpan(r * k, k), w, single, 1, n, k, bias);
            for (int j = 0; j < n; j++)
            {
                double expected = bias[j];
                for (int i = 0; i < k; i++)
                {
                    expected += (double)x[(r * k) + i] * w[(j * k) + i];
                }

                Assert.True(Math.Abs(expected - y[(r * n) + j]) <= 1e-5 * (1 + Math.Abs(expected)), $"y[{r},{j}] = {y[(r * n) + j]}, expected {expected}");
                Assert.Equal(BitConverter.SingleToInt32Bits(single[j]), BitConverter.SingleToInt32Bits(y[(r * n) + j]));
            }
        }
    }

    [Fact]
    public void Paged_attention_reads_through_the_block_table_like_dense_causal_attention()
    {
        const int bs = 4, heads = 4, kvHeads = 2, hd = 8, len = 10, numBlocks = 8;
        var rng = new Random(3);
        float R() => (float)(rng.NextDouble() - 0.5);
        var q = Enumerable.Range(0, len * heads * hd).Select(_ => R()).ToArray();
        var k = Enumerable.Range(0, len * kvHeads * hd).Select(_ => R()).ToArray();
        var v = Enumerable.Range(0, len * kvHeads * hd).Select(_ => R()).ToArray();
        int[] table = [6, 1, 4];
        var slots = Enumerable.Range(0, len).Select(p => (table[p / bs] * bs) + (p % bs)).ToArray();
        var kPool = new float[numBlocks * bs * kvHeads * hd];
        var vPool = new float[kPool.Length];
        CpuKernels.ReshapeAndCache(k, v, slots, kPool, vPool, len, kvHeads * hd);
        var output = new float[q.Length];
        CpuKernels.PagedAttention(q, kPool, vPool, table, 3, [0, len], Enumerable.Range(0, len).ToArray(), 1, bs, heads, kvHeads, hd, output);
        for (int t = 0; t < len; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                int g = h / (heads / kvHeads);
                var s = Enumerable.Range(0, t + 1).Select(j => Enumerable.Range(0, hd).Sum(i => (double)q[(((t * heads) + h) * hd) + i] * k[(((j * kvHeads) + g) * hd) + i]) / Math.Sqrt(hd)).ToArray();
                double max = s.Max();
                var e = s.Select(x => Math.Exp(x - max)).ToArray();
                for (int i = 0; i < hd; i++)
                {
                    double expected = Enumerable.Range(0, t + 1).Sum(j => e[j] * v[(((j * kvHeads) + g) * hd) + i]) / e.Sum();
                    Assert.True(Math.Abs(expected - output[(((t * heads) + h) * hd) + i]) < 1e-5, $"t {t} h {h} i {i}");
                }
            }
        }
    }

    [Fact]
    public void Rms_norm_silu_and_rope_match_their_definitions()
    {
        var x = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i)).ToArray();
        var w = Enumerable.Range(0, 20).Select(i => 1 + (i * 0.01f)).ToArray();
        var y = new float[40];
        CpuKernels.RmsNorm(x, w, y, 2, 20, 1e-5f);
        for (int r = 0; r < 2; r++)
        {
            double ms = Enumerable.Range(0, 20).Average(i => (double)x[(r * 20) + i] * x[(r * 20) + i]);
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal(x[(r * 20) + i] / Math.Sqrt(ms + 1e-5) * w[i], y[(r * 20) + i], 5);
            }
        }

        var s = new float[19];
        CpuKernels.SiluAndMul(x, w, s);
        for (int i = 0; i < s.Length; i++)
        {
            Assert.Equal(x[i] / (1 + Math.Exp(-x[i])) * w[i], s[i], 5);
        }

        // Interleaved: pair (0,1) of a 4-dim head rotates by pos * 1, pair (2,3) by pos * theta^(-1/2).
        var head = new float[] { 1, 0, 0, 1 };
        var inv = RotaryEmbedding.InverseFrequencies(4, 100f, null);
        CpuKernels.Rope(head, [3], 1, 4, 1, 4, inv, Folio.Models.RopeStyle.Interleaved);
        Assert.Equal(Math.Cos(3), head[0], 1e-6);
        Assert.Equal(Math.Sin(3), head[1], 1e-6);
        Assert.Equal(-Math.Sin(0.3), head[2], 1e-6);
        Assert.Equal(Math.Cos(0.3), head[3], 1e-6);
    }

    [Fact]
    public void Copy_blocks_copies_every_layers_k_and_v_and_leaves_other_blocks_alone()
    {
        var cfg = TestModel.Shape(64, 2, 2, 1, 32, 64, 30);
        using var model = TestModel.Create(cfg, seed: 1);
        using var runner = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 6, BlockSize = 4, Threads = 1 });
        new BatchDriver(runner).RunAlone(new TestSequence([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]), 8);
        int blockElems = 4 * cfg.KvDim;
        var before = Enumerable.Range(0, 2).Select(l => (runner.KvPool(l, false).ToArray(), runner.KvPool(l, true).ToArray())).ToArray();
        Assert.Contains(before[1].Item1.Skip(2 * blockElems).Take(blockElems), x => x != 0);
        runner.CopyBlocks([2, 4], [5, 0]);
        for (int l = 0; l < 2; l++)
        {
            foreach (bool values in new[] { false, true })
            {
                var old = values ? before[l].Item2 : before[l].Item1;
                var now = runner.KvPool(l, values).ToArray();
                Assert.Equal(old.Skip(2 * blockElems).Take(blockElems), now.Skip(5 * blockElems).Take(blockElems));
                Assert.Equal(old.Skip(4 * blockElems).Take(blockElems), now.Skip(0).Take(blockElems));
                Assert.Equal(old.Skip(blockElems).Take(4 * blockElems), now.Skip(blockElems).Take(4 * blockElems));
            }
        }

        // A sequence continued from the copies gives the same logits as from the originals.
        var d = new BatchDriver(runner);
        var fromOriginal = d.Step(new StepPart(new TestSequence([1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 4, 1]) { Cached = 8 }, 1))[0][0];
        var fromCopy = d.Step(new StepPart(new TestSequence([1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 0, 3]) { Cached = 8 }, 1))[0][0];
        Assert.Equal(fromOriginal, fromCopy);
    }

    [Fact]
    public void A_batch_that_points_outside_the_pool_is_rejected_with_a_message_naming_the_sequence()
    {
        var cfg = TestModel.Shape(64, 1, 2, 1, 32, 64, 30);
        using var model = TestModel.Create(cfg, seed: 2);
        using var runner = new CpuModelRunner(model.Model, new CpuRunnerOptions { NumBlocks = 2, BlockSize = 4, Threads = 1 });
        var batch = new Folio.Engine.Execution.ForwardBatch(16, 2, 8);
        batch.AddSequence([1, 2, 3], 0, [7], 4, wantLogits: true);
        var e = Assert.Throws<ArgumentException>(() => runner.Forward(batch, new float[cfg.VocabSize]));
        Assert.Contains("outside the pool", e.Message);

        batch.Clear();
        batch.AddSequence([1, 2, 3], 0, [0], 4, wantLogits: true);
        batch.TokenIds[1] = cfg.VocabSize;
        e = Assert.Throws<ArgumentException>(() => runner.Forward(batch, new float[cfg.VocabSize]));
        Assert.Contains("outside the vocabulary", e.Message);

        batch.Clear();
        batch.AddSequence([1, 2, 3], 10, [0, 1, 0, 1], 4, wantLogits: true);
        e = Assert.Throws<ArgumentException>(() => runner.Forward(batch, new float[cfg.VocabSize]));
        Assert.Contains("sequence 0", e.Message);
    }

    [Fact]
    public void Dtype_conversion_decodes_half_bfloat16_and_q8_0()
    {
        Assert.Equal(1.5f, DoConvert(DType.F16, BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)1.5f)), 1)[0]);
        Assert.Equal(-2.25f, DoConvert(DType.BF16, BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(-2.25f) >> 16)), 1)[0]);
        var q8 = new byte[34];
        BitConverter.TryWriteBytes(q8.AsSpan(0, 2), BitConverter.HalfToUInt16Bits((Half)0.5f));
        for (int i = 0; i < 32; i++)
        {
            q8[2 + i] = unchecked((byte)(sbyte)(i - 16));
        }

        var values = DoConvert(DType.Q8_0, q8, 32);
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal(0.5f * (i - 16), values[i]);
        }

        // Quantizing back: scale max|x|/127, every value within half a step.
        var roundTrip = new byte[34];
        DTypeConversion.F32ToQ8_0(values, roundTrip);
        var again = DoConvert(DType.Q8_0, roundTrip, 32);
        float step = (float)(Half)(8f / 127f);
        for (int i = 0; i < 32; i++)
        {
            Assert.True(Math.Abs(again[i] - values[i]) <= (step / 2) + 1e-6, $"value {i}: {again[i]} vs {values[i]}");
        }
    }

    private static unsafe float[] DoConvert(DType dtype, byte[] bytes, int count)
    {
        fixed (byte* p = bytes)
        {
            var view = new TensorView("t", dtype, [count], p, bytes.Length, "mem");
            return DTypeConversion.ToF32(view);
        }
    }
}
