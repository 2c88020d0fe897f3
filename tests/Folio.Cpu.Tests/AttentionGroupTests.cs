using CsCheck;

namespace Folio.Cpu.Tests;

/// <summary>
/// The runner attends each KV head's group of query heads in one walk (<see cref="AttentionKernel.AttendGroup"/>):
/// every head's output must be bit for bit what it gets alone (<see cref="AttentionKernel.AttendOne"/>),
/// for any group size (the four-head value sums and the single-head ones that take the rest), head
/// size (a multiple of 64 or with a tail), block size and block table, window start and softcap.
/// </summary>
public sealed unsafe class AttentionGroupTests
{
    private sealed record Case(int Group, int KvHeads, int KvHead, int HeadDim, int BlockSize, int Context, int FirstKey, float Softcap, int Seed);

    private static readonly Gen<Case> Cases =
        from g in Gen.Int[1, 9]
        from kvHeads in Gen.Int[1, 3]
        from kvHead in Gen.Int[0, kvHeads - 1]
        from headDim in Gen.OneOfConst(16, 32, 48, 64, 80, 128, 192)
        from blockSize in Gen.OneOfConst(1, 3, 16)
        from context in Gen.Int[1, 70]
        from firstKey in Gen.Int[0, context - 1]
        from softcap in Gen.OneOfConst(0f, 30f)
        from seed in Gen.Int
        select new Case(g, kvHeads, kvHead, headDim, blockSize, context, firstKey, softcap, seed);

    [Fact]
    public void A_group_gives_each_head_the_bits_it_gets_alone()
    {
        Cases.Sample(c =>
        {
            var rng = new Random(c.Seed);
            int kvDim = c.KvHeads * c.HeadDim;
            int blocks = (c.Context + c.BlockSize - 1) / c.BlockSize;

            // Physical blocks in shuffled order, plus a spare one, so the table is really followed.
            int[] table = Enumerable.Range(0, blocks + 1).OrderBy(_ => rng.Next()).Take(blocks).ToArray();
            var k = Random(rng, (blocks + 1) * c.BlockSize * kvDim);
            var v = Random(rng, (blocks + 1) * c.BlockSize * kvDim);
            var q = Random(rng, c.Group * c.HeadDim);
            int n = c.Context - c.FirstKey;
            var grouped = new float[c.Group * c.HeadDim];
            var alone = new float[c.Group * c.HeadDim];
            var scores = new float[c.Group * n];
            fixed (float* pk = k, pv = v, pq = q, pg = grouped, pa = alone, ps = scores)
            fixed (int* pt = table)
            {
                AttentionKernel.AttendGroup(pq, c.Group, pk, pv, pt, c.BlockSize, c.KvHead * c.HeadDim, kvDim, c.HeadDim, c.FirstKey, c.Context, 0.125f, c.Softcap, ps, pg);
                for (int h = 0; h < c.Group; h++)
                {
                    AttentionKernel.AttendOne(pq + (h * c.HeadDim), pk, pv, pt, c.BlockSize, c.KvHead * c.HeadDim, kvDim, c.HeadDim, c.FirstKey, c.Context, 0.125f, c.Softcap, ps, pa + (h * c.HeadDim));
                }
            }

            for (int i = 0; i < grouped.Length; i++)
            {
                Assert.True(
                    BitConverter.SingleToInt32Bits(grouped[i]) == BitConverter.SingleToInt32Bits(alone[i]),
                    $"{c}: head {i / c.HeadDim}, element {i % c.HeadDim}: grouped {grouped[i]:R}, alone {alone[i]:R}");
            }
        }, iter: 600);
    }

    private static float[] Random(Random rng, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((rng.NextDouble() * 4) - 2);
        }

        return values;
    }
}
