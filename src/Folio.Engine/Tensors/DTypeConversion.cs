using System.Runtime.InteropServices;
using Folio.Engine.Model;

namespace Folio.Engine.Tensors;

/// <summary>
/// Converts tensor storage (f32, f16, bf16, GGML q8_0) to f32. Every conversion is exact except
/// q8_0's, which is defined as scale * q with the scale widened from f16 first (as ggml does it).
/// Backends convert at load; loaders may use the same routines.
/// </summary>
public static unsafe class DTypeConversion
{
    /// <summary>Values in one q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    /// <summary>Bytes in one q8_0 block: an f16 scale then 32 signed bytes.</summary>
    public const int Q8BlockBytes = 34;

    /// <summary>Bytes needed to store <paramref name="elements"/> values of <paramref name="dtype"/>.</summary>
    public static long ByteLength(DType dtype, long elements) => dtype switch
    {
        DType.F32 => elements * 4,
        DType.F16 or DType.BF16 => elements * 2,
        DType.Q8_0 => elements / Q8BlockSize * Q8BlockBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>
    /// Converts <paramref name="destination"/>.Length elements of <paramref name="source"/>, starting at
    /// element <paramref name="startElement"/> (row-major, outermost dimension first), to f32. For q8_0
    /// the start and the length must be multiples of 32 (whole blocks).
    /// </summary>
    public static void ToF32(TensorView source, long startElement, Span<float> destination)
    {
        long count = destination.Length;
        if (startElement < 0 || startElement + count > source.ElementCount)
        {
            throw new ArgumentOutOfRangeException(nameof(startElement), $"{source.File}: tensor '{source.Name}' {source.ShapeText}: elements {startElement}..{startElement + count} are out of range");
        }

        if (ByteLength(source.DType, source.ElementCount) > source.ByteLength)
        {
            throw new ModelFormatException($"{source.File}: tensor '{source.Name}' {source.ShapeText} of {source.DType} needs {ByteLength(source.DType, source.ElementCount)} bytes but has {source.ByteLength} (truncated file?)");
        }

        switch (source.DType)
        {
            case DType.F32:
                new ReadOnlySpan<float>(source.Data + (startElement * 4), destination.Length).CopyTo(destination);
                break;
            case DType.F16:
                HalfToF32(new ReadOnlySpan<Half>(source.Data + (startElement * 2), destination.Length), destination);
                break;
            case DType.BF16:
                BF16ToF32(new ReadOnlySpan<ushort>(source.Data + (startElement * 2), destination.Length), destination);
                break;
            case DType.Q8_0:
                if (startElement % Q8BlockSize != 0 || count % Q8BlockSize != 0)
                {
                    throw new ArgumentException($"{source.File}: tensor '{source.Name}': q8_0 can only be converted in whole blocks of {Q8BlockSize} (start {startElement}, count {count})");
                }

                Q8_0ToF32(new ReadOnlySpan<byte>(source.Data + (startElement / Q8BlockSize * Q8BlockBytes), checked((int)(count / Q8BlockSize * Q8BlockBytes))), destination);
                break;
            default:
                throw new ModelFormatException($"{source.File}: tensor '{source.Name}' has unsupported dtype {source.DType}");
        }
    }

    /// <summary>Converts a whole tensor to a new f32 array (tests and small tensors only: it allocates).</summary>
    public static float[] ToF32(TensorView source)
    {
        var result = new float[checked((int)source.ElementCount)];
        ToF32(source, 0, result);
        return result;
    }

    /// <summary>IEEE half to f32 (exact).</summary>
    public static void HalfToF32(ReadOnlySpan<Half> source, Span<float> destination)
    {
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(source, destination[..source.Length]);
    }

    /// <summary>bfloat16 (the top 16 bits of an f32) to f32 (exact).</summary>
    public static void BF16ToF32(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        var bits = MemoryMarshal.Cast<float, uint>(destination[..source.Length]);
        for (int i = 0; i < source.Length; i++)
        {
            bits[i] = (uint)source[i] << 16;
        }
    }

    /// <summary>f32 to bfloat16 with round-to-nearest-even (NaN stays NaN); for writers and tests.</summary>
    public static ushort F32ToBF16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>GGML q8_0 blocks (f16 scale d, then 32 int8 q) to f32: value = d * q.</summary>
    public static void Q8_0ToF32(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int nBlocks = blocks.Length / Q8BlockBytes;
        if (blocks.Length % Q8BlockBytes != 0 || destination.Length < nBlocks * Q8BlockSize)
        {
            throw new ArgumentException($"q8_0: {blocks.Length} bytes is not a whole number of {Q8BlockBytes}-byte blocks fitting {destination.Length} values");
        }

        for (int b = 0; b < nBlocks; b++)
        {
            var block = blocks.Slice(b * Q8BlockBytes, Q8BlockBytes);
            float d = (float)BitConverter.UInt16BitsToHalf(MemoryMarshal.Read<ushort>(block));
            var q = MemoryMarshal.Cast<byte, sbyte>(block[2..]);
            var dst = destination.Slice(b * Q8BlockSize, Q8BlockSize);
            for (int i = 0; i < Q8BlockSize; i++)
            {
                dst[i] = d * q[i];
            }
        }
    }

    /// <summary>
    /// f32 to GGML q8_0 as ggml's reference quantizer does it: d = max|x| / 127 per block of 32,
    /// q = round(x / d) (ties away from zero); for writers and tests.
    /// </summary>
    public static void F32ToQ8_0(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (source.Length % Q8BlockSize != 0 || destination.Length < source.Length / Q8BlockSize * Q8BlockBytes)
        {
            throw new ArgumentException($"q8_0: {source.Length} values is not a whole number of {Q8BlockSize}-value blocks, or the destination is too small");
        }

        for (int b = 0; b < source.Length / Q8BlockSize; b++)
        {
            var x = source.Slice(b * Q8BlockSize, Q8BlockSize);
            float amax = 0;
            foreach (float v in x)
            {
                amax = MathF.Max(amax, MathF.Abs(v));
            }

            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            var block = destination.Slice(b * Q8BlockBytes, Q8BlockBytes);
            MemoryMarshal.Write(block, BitConverter.HalfToUInt16Bits((Half)d));
            for (int i = 0; i < Q8BlockSize; i++)
            {
                block[2 + i] = (byte)(sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
            }
        }
    }
}
