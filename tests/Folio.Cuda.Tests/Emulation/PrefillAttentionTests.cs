using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// attention.cu's prefill kernel: chunks of queries attend causally to the keys already cached
/// plus their own, through the block table. Reference: float64 attention from the definition.
/// </summary>
public sealed class PrefillAttentionTests
{
    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        int i = 0;
        foreach (int headDim in new[] { 64, 80, 96, 112, 128, 256 })
        {
            foreach (int gqa in new[] { 1, 4, 8 })
            {
                data.Add(headDim, i++ % 2 == 0 ? 32 : 16, gqa);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Whole_prompt_and_chunk_after_cached_prefix_match_reference(int headDim, int blockSize, int gqa)
    {
        // seq 0: a whole 21-token prompt; seq 1: a 13-token chunk after 40 cached tokens; seq 2: one decode token.
        var c = new PagedCase(headDim * 7 + blockSize + gqa, headDim, blockSize, numKvHeads: 1, gqa, [21, 53, 30], [21, 13, 1], bf16: false);
        Rand.AssertClose(c.Reference(), EmuAttention.Prefill(c, bf16: false), 2e-5, 1e-4, "prefill f32");
    }

    [Theory]
    [InlineData(128, 16, 4)]
    [InlineData(64, 32, 1)]
    public void Bf16_cache_matches_reference_within_bf16_output_rounding(int headDim, int blockSize, int gqa)
    {
        var c = new PagedCase(headDim + gqa, headDim, blockSize, numKvHeads: 2, gqa, [40, 70], [17, 9], bf16: true);
        Rand.AssertClose(c.Reference(), EmuAttention.Prefill(c, bf16: true), 1e-5, 1.0 / 128, "prefill bf16");
    }

    [Fact]
    public void Long_chunk_over_a_long_cached_context_matches_reference()
    {
        var c = new PagedCase(99, 128, 16, numKvHeads: 1, 4, [1500], [40], bf16: false);
        Rand.AssertClose(c.Reference(), EmuAttention.Prefill(c, bf16: false), 2e-5, 2e-4, "prefill 1500");
    }

    [Fact]
    public void Prefill_kernel_agrees_with_decode_kernel_on_single_token_queries()
    {
        var c = new PagedCase(5, 112, 32, numKvHeads: 2, 4, [100, 1, 64], [1, 1, 1], bf16: false);
        Rand.AssertClose(EmuAttention.Decode(c, bf16: false, partitionSize: 0), EmuAttention.Prefill(c, bf16: false), 1e-5, 1e-4, "prefill vs decode");
    }
}
