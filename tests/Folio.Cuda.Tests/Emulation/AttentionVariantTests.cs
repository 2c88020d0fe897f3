using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// attention.cu's Gemma variants: logit soft-capping and sliding-window layers, in the decode kernel
/// (single pass and split-K, including partitions wholly before the window) and the prefill kernel
/// (chunks whose queries each see a different window), against the float64 definition.
/// </summary>
public sealed class AttentionVariantTests
{
    public static TheoryData<float, int> Variants() => new()
    {
        { 50f, 0 },    // Gemma 2's attention soft-cap, global layer
        { 5f, 0 },     // a cap small enough that every score feels it
        { 0f, 8 },     // a short window: most keys fall outside
        { 0f, 100 },   // a window longer than some contexts (those see everything)
        { 20f, 37 },   // both, a window that is no multiple of the block or tile size
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Decode_single_pass_and_split_k_match_reference(float softcap, int window)
    {
        var c = new PagedCase(21 + window, 128, 16, numKvHeads: 2, 4, [300, 1, 99, 64, 8], [1, 1, 1, 1, 1], bf16: false);
        var expected = c.Reference(softcap, window);
        Rand.AssertClose(expected, EmuAttention.Decode(c, bf16: false, partitionSize: 0, softcap, window), 2e-5, 1e-4, "decode single pass");
        // 32-token partitions: with an 8-token window, most of the 300-token sequence's partitions hold no visible key.
        Rand.AssertClose(expected, EmuAttention.Decode(c, bf16: false, partitionSize: 32, softcap, window), 2e-5, 1e-4, "decode split-K");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Prefill_chunks_match_reference(float softcap, int window)
    {
        // a whole 45-token prompt, a 29-token chunk after 150 cached tokens, one decode token
        var c = new PagedCase(33 + window, 64, 32, numKvHeads: 1, 8, [45, 179, 70], [45, 29, 1], bf16: false);
        Rand.AssertClose(c.Reference(softcap, window), EmuAttention.Prefill(c, bf16: false, softcap, window), 2e-5, 1e-4, "prefill");
    }

    [Fact]
    public void Bf16_cache_with_window_and_softcap_matches_reference_within_output_rounding()
    {
        var c = new PagedCase(7, 256, 16, numKvHeads: 2, 2, [130, 40], [1, 1], bf16: true);
        Rand.AssertClose(c.Reference(30, 16), EmuAttention.Decode(c, bf16: true, partitionSize: 64, 30f, 16), 1e-5, 1.0 / 128, "decode bf16");
        var p = new PagedCase(8, 256, 16, numKvHeads: 2, 2, [130, 40], [20, 40], bf16: true);
        Rand.AssertClose(p.Reference(30, 16), EmuAttention.Prefill(p, bf16: true, 30f, 16), 1e-5, 1.0 / 128, "prefill bf16");
    }

    [Fact]
    public void A_custom_scale_is_the_factor_on_q_dot_k()
    {
        // Gemma's query_pre_attn_scalar^-0.5 where it differs from head_dim^-0.5: PagedCase's scale is
        // what both the reference and the kernels apply, so a case with another scale checks it.
        var c = new PagedCase(9, 64, 16, numKvHeads: 1, 4, [77], [1], bf16: false, scale: 1f / 12f);
        Rand.AssertClose(c.Reference(), EmuAttention.Decode(c, bf16: false, partitionSize: 0), 2e-5, 1e-4, "decode, scale 1/12");
        Rand.AssertClose(c.Reference(), EmuAttention.Prefill(c, bf16: false), 2e-5, 1e-4, "prefill, scale 1/12");
    }
}
