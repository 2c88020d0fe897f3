using System.Runtime.InteropServices;

namespace Folio.Models;

/// <summary>
/// Byte sizes of Folio's dtypes and conversions between f32 and their stored encodings (f32, f16,
/// bf16, and GGML's block-quantized types). Decoding is exact for the plain types; a quantized value
/// is defined by ggml's reference formulas (<see cref="Dequantizer"/>), scales widened from f16
/// first. Writers and tests use the encoders (Folio encodes q8_0 only; llama.cpp's quantizer makes the others).
/// This is the one implementation: loaders, writers, backends and tests all call it.
/// </summary>
public static unsafe class DTypeConversion
{
    /// <summary>Values in one q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    /// <summary>Bytes in one q8_0 block: an f16 scale then 32 signed bytes.</summary>
    public const int Q8BlockBytes = 34;

    /// <summary>
    /// Bytes needed to store <paramref name="elements"/> values of <paramref name="dtype"/>, or -1 when
    /// a block-quantized type is asked for a count that is not a whole number of its blocks (loaders
    /// turn that into a format error).
    /// </summary>
    public static long ByteLength(DType dtype, long elements)
    {
        var layout = QuantLayouts.Of(dtype);
        return elements % layout.Values == 0 ? elements / layout.Values * layout.Bytes : -1;
    }

    /// <summary>Number of values in a tensor of <paramref name="shape"/> (overflow throws rather than wraps).</summary>
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            n = checked(n * d);
        }

        return n;
    }

    /// <summary>
    /// Converts <paramref name="destination"/>.Length elements of <paramref name="source"/>, starting at
    /// element <paramref name="startElement"/> (row-major, outermost dimension first), to f32. For a
    /// block-quantized type the start and the length must be whole blocks (32 or 256 values).
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
            default:
                var layout = QuantLayouts.Of(source.DType);
                if (startElement % layout.Values != 0 || count % layout.Values != 0)
                {
                    throw new ArgumentException($"{source.File}: tensor '{source.Name}': {source.DType} can only be converted in whole blocks of {layout.Values} (start {startElement}, count {count})");
                }

                Dequantizer.Row(source.DType, new ReadOnlySpan<byte>(source.Data + (startElement / layout.Values * layout.Bytes), checked((int)(count / layout.Values * layout.Bytes))), destination);
                break;
        }
    }

    /// <summary>Converts a whole tensor to a new f32 array (tests and small tensors only: it allocates).</summary>
    public static float[] ToF32(TensorView source)
    {
        var result = new float[checked((int)source.ElementCount)];
        ToF32(source, 0, result);
        return result;
    }

    /// <summary>Decodes <paramref name="source"/> (stored as <paramref name="dtype"/>) into <paramref name="destination"/>.Length f32 values.</summary>
    public static void Decode(DType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source)[..destination.Length].CopyTo(destination);
                break;
            case DType.F16:
                HalfToF32(MemoryMarshal.Cast<byte, Half>(source)[..destination.Length], destination);
                break;
            case DType.BF16:
                BF16ToF32(MemoryMarshal.Cast<byte, ushort>(source)[..destination.Length], destination);
                break;
            default:
                var layout = QuantLayouts.Of(dtype);
                Dequantizer.Row(dtype, source[..(destination.Length / layout.Values * layout.Bytes)], destination);
                break;
        }
    }

    /// <summary>Encodes f32 values as <paramref name="dtype"/> (round to nearest even for f16/bf16; ggml's q8_0 rounding).</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, DType dtype)
    {
        if (QuantLayouts.IsBlockQuantized(dtype) && dtype != DType.Q8_0)
        {
            throw new ArgumentException($"Folio encodes f32, f16, bf16 and q8_0; make {dtype} files with llama.cpp's quantizer (llama-quantize, or LLamaSharp's LLamaQuantizer)");
        }

        long length = ByteLength(dtype, values.Length);
        if (length < 0)
        {
            throw new ArgumentException($"q8_0 needs a multiple of {Q8BlockSize} values; got {values.Length}");
        }

        var bytes = new byte[length];
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.AsBytes(values).CopyTo(bytes);
                break;
            case DType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<byte, Half>(bytes.AsSpan()));
                break;
            case DType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
                for (int i = 0; i < values.Length; i++)
                {
                    raw[i] = F32ToBF16(values[i]);
                }

                break;
            case DType.Q8_0:
                F32ToQ8_0(values, bytes);
                break;
        }

        return bytes;
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
