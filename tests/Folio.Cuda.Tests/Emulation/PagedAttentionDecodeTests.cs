using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// attention.cu's decode kernel, run from its source through the host emulation, against a
/// float64 reference. The spread follows issue 5: head sizes 64..256, block sizes 16 and 32, GQA
/// ratios 1, 4, 8, contexts up to 4096, single pass and split-K, f32 and bf16 caches.
/// </summary>
public sealed class PagedAttentionDecodeTests
{
    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        int i = 0;
        foreach (int headDim in new[] { 64, 80, 96, 112, 128, 256 })
        {
            foreach (int gqa in new[] { 1, 4, 8 })
            {
                data.Add(headDim, i++ % 2 == 0 ? 16 : 32, gqa);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Single_pass_matches_reference_for_every_shape(int headDim, int blockSize, int gqa)
    {
        // Context lengths hit a partial last block, exactly one block, and a few blocks.
        var c = new PagedCase(headDim * 31 + blockSize + gqa, headDim, blockSize, numKvHeads: 1, gqa, [blockSize * 3 + 5, blockSize, 1], [1, 1, 1], bf16: false);
        Rand.AssertClose(c.Reference(), EmuAttention.Decode(c, bf16: false, partitionSize: 0), 2e-5, 1e-4, "decode f32");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Split_k_matches_reference_for_every_shape(int headDim, int blockSize, int gqa)
    {
        // Partition of 64 tokens: the sequences span 1, several and a partial partition.
        var c = new PagedCase(headDim * 17 + blockSize + gqa, headDim, blockSize, numKvHeads: 1, gqa, [300, 64, 9], [1, 1, 1], bf16: false);
        Rand.AssertClose(c.Reference(), EmuAttention.Decode(c, bf16: false, partitionSize: 64), 2e-5, 1e-4, "decode split-K f32");
    }

    [Theory]
    [InlineData(64, 16, 8)]
    [InlineData(128, 32, 4)]
    [InlineData(256, 16, 1)]
    public void Bf16_cache_matches_reference_within_bf16_output_rounding(int headDim, int blockSize, int gqa)
    {
        var c = new PagedCase(headDim + blockSize + gqa, headDim, blockSize, numKvHeads: 2, gqa, [200, 33], [1, 1], bf16: true);
        Rand.AssertClose(c.Reference(), EmuAttention.Decode(c, bf16: true, partitionSize: 0), 1e-5, 1.0 / 128, "decode bf16");
        Rand.AssertClose(c.Reference(), EmuAttention.Decode(c, bf16: true, partitionSize: 64), 1e-5, 1.0 / 128, "decode split-K bf16");
    }

    [Theory]
    [InlineData(128, 16, 4)]
    [InlineData(64, 32, 8)]
    public void Context_of_4096_tokens_matches_reference_single_pass_and_split_k(int headDim, int blockSize, int gqa)
    {
        var c = new PagedCase(4096 + headDim, headDim, blockSize, numKvHeads: 1, gqa, [4096, 2500], [1, 1], bf16: false);
        var expected = c.Reference();
        Rand.AssertClose(expected, EmuAttention.Decode(c, bf16: false, partitionSize: 0), 2e-5, 2e-4, "decode 4096 single pass");
        Rand.AssertClose(expected, EmuAttention.Decode(c, bf16: false, partitionSize: 512), 2e-5, 2e-4, "decode 4096 split-K");
    }

    [Fact]
    public void Split_k_and_single_pass_agree_closely_with_several_kv_heads()
    {
        var c = new PagedCase(7, 96, 16, numKvHeads: 4, 2, [777, 130, 2], [1, 1, 1], bf16: false);
        var single = EmuAttention.Decode(c, bf16: false, partitionSize: 0);
        var split = EmuAttention.Decode(c, bf16: false, partitionSize: 128);
        Rand.AssertClose(single, split, 1e-5, 1e-4, "single vs split");
        Rand.AssertClose(c.Reference(), single, 2e-5, 1e-4, "single vs reference");
    }
}
