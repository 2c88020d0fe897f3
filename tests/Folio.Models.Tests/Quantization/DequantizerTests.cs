
namespace Folio.Models.Tests.Quantization;

/// <summary>
/// Every GGML type Folio reads decodes to what the block layouts written in the tests say
/// (<see cref="GgmlReferenceBlocks"/>), bit for bit, through <see cref="Dequantizer"/> and through
/// <see cref="DTypeConversion"/> on a tensor view.
/// </summary>
public sealed unsafe class DequantizerTests
{
    public static TheoryData<DType> Types => new(QuantLayouts.Quantized);

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_value_of_random_blocks_decodes_as_the_layout_says(DType type)
    {
        var rng = new Random((int)type);
        var (values, bytes) = GgmlReferenceBlocks.Layout(type);
        Assert.Equal(new BlockLayout(values, bytes), QuantLayouts.Of(type));
        const int blocks = 24;
        var data = GgmlReferenceBlocks.RandomBlocks(type, blocks, rng, scale: 0.02f);
        var decoded = new float[blocks * values];
        Dequantizer.Row(type, data, decoded);
        int nonzero = 0;
        for (int b = 0; b < blocks; b++)
        {
            var expected = GgmlReferenceBlocks.Decode(type, data.AsSpan(b * bytes, bytes).ToArray());
            for (int k = 0; k < values; k++)
            {
                float want = expected.Dequantized(k);
                float got = decoded[(b * values) + k];
                nonzero += got != 0 ? 1 : 0;
                if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(got))
                {
                    Assert.Fail($"{type}: block {b}, value {k}: the layout says {want:R}, the dequantizer gives {got:R}");
                }
            }
        }

        Assert.True(nonzero > blocks * values / 2, $"{type}: random blocks decoded to mostly zeros");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_tensor_view_converts_whole_blocks_from_any_block_boundary(DType type)
    {
        var (values, bytes) = GgmlReferenceBlocks.Layout(type);
        const int rows = 3, blocksPerRow = 2;
        var data = GgmlReferenceBlocks.RandomBlocks(type, rows * blocksPerRow, new Random(7), scale: 0.5f);
        using var store = new NativeTensorStore("quantized");
        var view = store.Add("t", type, [rows, blocksPerRow * values], data.Length);
        data.CopyTo(new Span<byte>(view.Data, data.Length));
        Assert.Equal(data.Length, DTypeConversion.ByteLength(type, view.ElementCount));

        var row = new float[values];
        DTypeConversion.ToF32(view, 3L * values, row); // the second block of row 1
        var expected = GgmlReferenceBlocks.Decode(type, data.AsSpan(3 * bytes, bytes).ToArray());
        Assert.Equal(Enumerable.Range(0, values).Select(k => BitConverter.SingleToInt32Bits(expected.Dequantized(k))), row.Select(BitConverter.SingleToInt32Bits));

        var e = Assert.Throws<ArgumentException>(() => DTypeConversion.ToF32(view, values / 2, row));
        Assert.Contains("'t'", e.Message);
        Assert.Contains("whole blocks", e.Message);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_count_that_is_not_whole_blocks_has_no_byte_length(DType type)
    {
        int values = QuantLayouts.Of(type).Values;
        Assert.Equal(-1, DTypeConversion.ByteLength(type, values + 1));
        Assert.Equal(2L * QuantLayouts.Of(type).Bytes, DTypeConversion.ByteLength(type, 2L * values));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_nan_or_infinite_scale_is_found_in_the_block_that_holds_it(DType type)
    {
        var (_, bytes) = GgmlReferenceBlocks.Layout(type);
        var data = GgmlReferenceBlocks.RandomBlocks(type, 5, new Random(3), scale: 0.1f);
        Assert.Equal(-1, QuantValidation.FirstBadBlock(type, data));
        foreach (int field in GgmlReferenceBlocks.HalfFields(type))
        {
            var bad = (byte[])data.Clone();
            BitConverter.TryWriteBytes(bad.AsSpan((3 * bytes) + field, 2), Half.NaN);
            Assert.Equal(3, QuantValidation.FirstBadBlock(type, bad));
            BitConverter.TryWriteBytes(bad.AsSpan((1 * bytes) + field, 2), Half.NegativeInfinity);
            Assert.Equal(1, QuantValidation.FirstBadBlock(type, bad));
        }
    }
}
