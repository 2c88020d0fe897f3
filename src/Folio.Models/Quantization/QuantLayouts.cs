namespace Folio.Models;

/// <summary>How a dtype is stored: <see cref="Values"/> consecutive values of a row take <see cref="Bytes"/> bytes.</summary>
public readonly record struct BlockLayout(int Values, int Bytes);

/// <summary>
/// Block sizes and byte layouts of Folio's dtypes (ggml-common.h's block_* structs). A GGML block
/// covers consecutive values of one row, so a quantized tensor's row length must be a whole number
/// of blocks. The k-quants (and iq4_xs) use super-blocks of 256 values, the older types blocks of 32.
/// </summary>
public static class QuantLayouts
{
    /// <summary>Values in a k-quant super-block (ggml's QK_K).</summary>
    public const int SuperBlock = 256;

    /// <summary>The block layout of <paramref name="dtype"/> (plain types are one value a "block").</summary>
    public static BlockLayout Of(DType dtype) => dtype switch
    {
        DType.F32 => new(1, 4),
        DType.F16 or DType.BF16 => new(1, 2),
        DType.Q8_0 => new(32, 34),
        DType.Q4_0 => new(32, 18),
        DType.Q4_1 => new(32, 20),
        DType.Q5_0 => new(32, 22),
        DType.Q5_1 => new(32, 24),
        DType.Q2_K => new(SuperBlock, 84),
        DType.Q3_K => new(SuperBlock, 110),
        DType.Q4_K => new(SuperBlock, 144),
        DType.Q5_K => new(SuperBlock, 176),
        DType.Q6_K => new(SuperBlock, 210),
        DType.IQ4_NL => new(32, 18),
        DType.IQ4_XS => new(SuperBlock, 136),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>True for the GGML block-quantized types (q8_0 included).</summary>
    public static bool IsBlockQuantized(DType dtype) => Of(dtype).Values > 1;

    /// <summary>Every block-quantized dtype Folio reads, in GGML's id order.</summary>
    public static IReadOnlyList<DType> Quantized { get; } =
        [DType.Q4_0, DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.Q8_0, DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.IQ4_NL, DType.IQ4_XS];

    /// <summary>ggml's spelling of the type (Q4_K, IQ4_XS, F32, ...), for messages.</summary>
    public static string Name(DType dtype) => dtype.ToString();

    /// <summary>Bits stored per value (block overhead included), for sizes and bandwidth figures.</summary>
    public static double BitsPerValue(DType dtype)
    {
        var l = Of(dtype);
        return 8.0 * l.Bytes / l.Values;
    }
}
