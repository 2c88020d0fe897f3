using System.Buffers.Binary;

namespace Folio.Models;

/// <summary>
/// The integrity check ggml applies to quantized rows (ggml_validate_row_data): every block's f16
/// scale (and min, where the format has one) must be finite. A NaN or infinite scale cannot come
/// from a quantizer; it means the bytes are corrupt, and it would poison every logit it touches.
/// </summary>
public static class QuantValidation
{
    // Arrays made once: a collection expression in a switch arm allocates at every call, and mapped
    // experts validate each row they pack at every step.
    private static readonly int[] ScaleOnly = [0];
    private static readonly int[] ScaleAndMin = [0, 2];
    private static readonly int[] Q2KScales = [80, 82];
    private static readonly int[] Q3KScale = [108];
    private static readonly int[] Q6KScale = [208];

    /// <summary>Byte offsets of the f16 scale fields inside one block of <paramref name="dtype"/>.</summary>
    public static ReadOnlySpan<int> ScaleOffsets(DType dtype) => dtype switch
    {
        DType.Q8_0 or DType.Q4_0 or DType.Q5_0 or DType.IQ4_NL or DType.IQ4_XS => ScaleOnly,
        DType.Q4_1 or DType.Q5_1 or DType.Q4_K or DType.Q5_K => ScaleAndMin,
        DType.Q2_K => Q2KScales,
        DType.Q3_K => Q3KScale,
        DType.Q6_K => Q6KScale,
        _ => [],
    };

    /// <summary>The index of the first block of <paramref name="blocks"/> whose scale is NaN or infinite, or -1.</summary>
    public static long FirstBadBlock(DType dtype, ReadOnlySpan<byte> blocks)
    {
        var layout = QuantLayouts.Of(dtype);
        var offsets = ScaleOffsets(dtype);
        if (layout.Values == 1 || offsets.IsEmpty)
        {
            return -1;
        }

        long n = blocks.Length / layout.Bytes;
        for (long b = 0; b < n; b++)
        {
            var block = blocks.Slice((int)(b * layout.Bytes), layout.Bytes);
            foreach (int o in offsets)
            {
                // f16 exponent all ones: infinity or NaN.
                if ((BinaryPrimitives.ReadUInt16LittleEndian(block[o..]) & 0x7C00) == 0x7C00)
                {
                    return b;
                }
            }
        }

        return -1;
    }

    /// <summary>
    /// Throws a <see cref="ModelFormatException"/> naming the file, the tensor, its type, the row and
    /// the block when any block of <paramref name="tensor"/> has a NaN or infinite scale.
    /// </summary>
    public static unsafe void Check(TensorView tensor)
    {
        var layout = QuantLayouts.Of(tensor.DType);
        if (layout.Values == 1)
        {
            return;
        }

        long rowLength = tensor.Shape.Length == 0 ? 1 : tensor.Shape[^1];
        long rowBytes = rowLength / layout.Values * layout.Bytes;
        long rows = rowBytes == 0 ? 0 : tensor.ByteLength / rowBytes;
        for (long r = 0; r < rows; r++)
        {
            long bad = FirstBadBlock(tensor.DType, new ReadOnlySpan<byte>(tensor.Data + (r * rowBytes), checked((int)rowBytes)));
            if (bad >= 0)
            {
                throw new ModelFormatException($"{tensor.File}: tensor '{tensor.Name}' of type {QuantLayouts.Name(tensor.DType)} is corrupt: row {r}, block {bad} has a NaN or infinite scale (re-download or re-quantize the file)");
            }
        }
    }
}
