using Folio.Cpu;
using Folio.Models;

using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// Determinism (docs/architecture.md): on the CPU a sequence's logits are bitwise identical whatever shares
/// its batch, however its prompt is chunked, and whatever the thread count.
/// </summary>
public sealed class CpuDeterminismTests
{
    // Shapes chosen so that vocab and widths leave partial GEMM panels and odd row counts.
    private static readonly ModelConfig Gqa = TestModel.Shape(hidden: 96, layers: 2, heads: 6, kvHeads: 2, headDim: 16 * 2, ffn: 136, vocab: 101) with { AttentionBias = true };

    private static int[] Tokens(int n, int seed, int vocab)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    private static CpuModelRunner Runner(TestModel m, int threads) => new(m.Model, new CpuRunnerOptions { NumBlocks = 40, BlockSize = 16, Threads = threads });

    [Fact]
    public void Logits_are_bitwise_identical_whether_the_sequence_runs_alone_or_in_mixed_batches()
    {
        using var model = TestModel.Create(Gqa, seed: 3);
        var prompt = Tokens(45, 1, Gqa.VocabSize);

        // Alone: whole prompt then 6 decode steps, logits for every position.
        float[][] alone;
        using (var r = Runner(model, 2))
        {
            alone = new BatchDriver(r).RunAlone(new TestSequence(prompt, [0, 1, 2]), 39);
        }

        // In company: other sequences prefill and decode around it, its blocks elsewhere in the pool,
        // and it shares steps with batches of 1 to 5 rows (so its rows sit in every GEMM tile position).
        using var runner = Runner(model, 2);
        var d = new BatchDriver(runner);
        var a = new TestSequence(prompt, [17, 4, 30]);
        var b = new TestSequence(Tokens(60, 2, Gqa.VocabSize), [1, 2, 3, 5]);
        var c = new TestSequence(Tokens(33, 3, Gqa.VocabSize), [6, 7, 8]);
        var e = new TestSequence(Tokens(20, 4, Gqa.VocabSize), [9, 10]);
        var got = new List<float[]>();
        d.Step(new StepPart(b, 30));
        got.AddRange(d.Step(new StepPart(b, 2), new StepPart(a, 13, true), new StepPart(c, 3))[1]);
        got.AddRange(d.Step(new StepPart(c, 20), new StepPart(a, 26, true))[1]);
        got.AddRange(d.Step(new StepPart(a, 1, true))[0]);
        got.AddRange(d.Step(new StepPart(b, 1), new StepPart(a, 1, true))[1]);
        got.AddRange(d.Step(new StepPart(b, 1), new StepPart(c, 1), new StepPart(a, 1, true))[2]);
        got.AddRange(d.Step(new StepPart(e, 19), new StepPart(b, 1), new StepPart(c, 1), new StepPart(a, 1, true))[3]);
        got.AddRange(d.Step(new StepPart(a, 1, true), new StepPart(e, 1), new StepPart(b, 1), new StepPart(c, 1))[0]);
        got.AddRange(d.Step(new StepPart(b, 5), new StepPart(a, 1, true))[1]);

        AssertBitwiseEqual(alone, got);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    [InlineData(50)]
    public void Prefill_chunking_does_not_change_any_logit_bit(int chunk)
    {
        using var model = TestModel.Create(Gqa with { RopeStyle = RopeStyle.Interleaved }, seed: 4);
        var tokens = Tokens(50, 9, Gqa.VocabSize);
        using var r = Runner(model, 2);
        var whole = new BatchDriver(r).RunAlone(new TestSequence(tokens, [3, 2, 1, 0]), 50);
        var chunked = new BatchDriver(r).RunAlone(new TestSequence(tokens, [8, 9, 10, 11]), chunk);
        AssertBitwiseEqual(whole, chunked);
    }

    [Fact]
    public void Thread_count_does_not_change_any_logit_bit()
    {
        using var model = TestModel.Create(Gqa with { TieWordEmbeddings = true }, seed: 8);
        float[][] Run(int threads)
        {
            using var r = Runner(model, threads);
            var d = new BatchDriver(r);
            var a = new TestSequence(Tokens(40, 5, Gqa.VocabSize), [0, 1, 2]);
            var b = new TestSequence(Tokens(40, 6, Gqa.VocabSize), [3, 4, 5]);
            var rows = new List<float[]>();
            foreach (var step in d.Step(new StepPart(a, 21, true), new StepPart(b, 9, true)))
            {
                rows.AddRange(step);
            }

            for (int i = 0; i < 6; i++)
            {
                foreach (var step in d.Step(new StepPart(a, 1), new StepPart(b, 1)))
                {
                    rows.AddRange(step);
                }
            }

            return [.. rows];
        }

        var one = Run(1);
        AssertBitwiseEqual(one, Run(2));
        AssertBitwiseEqual(one, Run(3));
    }

    [Fact]
    public void Splitting_a_query_group_across_threads_does_not_change_any_logit_bit()
    {
        // Multi-query attention: one KV head for four query heads. Alone, one token's attention is
        // one unit per KV head; with more threads than that the runner cuts the group into two or
        // four parts, and a head's bits must not depend on the part that computed it.
        var mqa = TestModel.Shape(hidden: 64, layers: 2, heads: 4, kvHeads: 1, headDim: 16, ffn: 96, vocab: 97);
        using var model = TestModel.Create(mqa, seed: 13);
        float[][] Run(int threads)
        {
            using var r = Runner(model, threads);
            return new BatchDriver(r).RunAlone(new TestSequence(Tokens(30, 14, mqa.VocabSize), [0, 1, 2]), 1);
        }

        var one = Run(1);
        AssertBitwiseEqual(one, Run(2));
        AssertBitwiseEqual(one, Run(3));
    }

    [Fact]
    public void A_decode_step_allocates_nothing_once_scratch_has_grown()
    {
        using var model = TestModel.Create(Gqa, seed: 12);
        using var runner = Runner(model, 1);
        Assert.Equal(0, DecodeAllocation.BytesAllocatedBySteadyDecodeSteps(runner));
    }

    private static void AssertBitwiseEqual(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int t = 0; t < expected.Count; t++)
        {
            for (int i = 0; i < expected[t].Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(expected[t][i]) != BitConverter.SingleToInt32Bits(actual[t][i]))
                {
                    Assert.Fail($"row {t}, logit {i}: {expected[t][i]:R} != {actual[t][i]:R}");
                }
            }
        }
    }
}
