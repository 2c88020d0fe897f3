namespace Folio.Models;

/// <summary>
/// Element types Folio reads from model files. The block-quantized ones are GGML's (see
/// <see cref="Folio.Models.QuantLayouts"/> for their block sizes and byte layouts); a
/// tensor of one of them holds whole blocks along its innermost (row) dimension.
/// </summary>
public enum DType
{
    F32,
    F16,
    BF16,

    /// <summary>GGML q8_0: blocks of 32 values, one f16 scale then 32 signed bytes (34 bytes a block).</summary>
    Q8_0,

    /// <summary>GGML q4_0: 32 values, f16 scale d, 4-bit q; value = d * (q - 8) (18 bytes).</summary>
    Q4_0,

    /// <summary>GGML q4_1: 32 values, f16 scale d and offset m, 4-bit q; value = d * q + m (20 bytes).</summary>
    Q4_1,

    /// <summary>GGML q5_0: 32 values, f16 d, 5-bit q (a high-bit plane beside the nibbles); value = d * (q - 16) (22 bytes).</summary>
    Q5_0,

    /// <summary>GGML q5_1: 32 values, f16 d and m, 5-bit q; value = d * q + m (24 bytes).</summary>
    Q5_1,

    /// <summary>GGML q2_K: 256 values in 16 groups of 16, 4-bit group scale and min, 2-bit q (84 bytes).</summary>
    Q2_K,

    /// <summary>GGML q3_K: 256 values in 16 groups of 16, 6-bit signed group scales, 3-bit q (110 bytes).</summary>
    Q3_K,

    /// <summary>GGML q4_K: 256 values in 8 groups of 32, 6-bit group scale and min, 4-bit q (144 bytes).</summary>
    Q4_K,

    /// <summary>GGML q5_K: as q4_K with a fifth bit per value (176 bytes).</summary>
    Q5_K,

    /// <summary>GGML q6_K: 256 values in 16 groups of 16, int8 group scales, 6-bit q; value = d * scale * (q - 32) (210 bytes).</summary>
    Q6_K,

    /// <summary>GGML iq4_nl: 32 values, f16 d, 4-bit indices into a fixed non-linear table of 16 levels (18 bytes).</summary>
    IQ4_NL,

    /// <summary>GGML iq4_xs: 256 values in 8 groups of 32 with 6-bit scales, iq4_nl's table (136 bytes).</summary>
    IQ4_XS,
}
