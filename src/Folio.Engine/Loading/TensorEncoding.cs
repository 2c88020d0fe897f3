using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Folio.Engine.Tensors;

namespace Folio.Engine.Loading;

/// <summary>
/// Byte sizes of Folio's dtypes, and conversions between f32 and their stored encodings. Writers use
/// the encoders; tests and backends that want plain floats use <see cref="ToF32(TensorView, Span{float})"/>.
/// </summary>
public static unsafe class TensorEncoding
{
    /// <summary>q8_0 packs 32 values per block: one f16 scale and 32 signed bytes.</summary>
    public const int Q8BlockSize = 32;
    public const int Q8BlockBytes = 34;

    /// <summary>Bytes needed for <paramref name="elements"/> values, or -1 when q8_0 is asked for a count that is not a multiple of 32.</summary>
    public static long ByteLength(DType dtype, long elements) => dtype switch
    {
        DType.F32 => elements * 4,
        DType.F16 or DType.BF16 => elements * 2,
        DType.Q8_0 => elements % Q8BlockSize == 0 ? elements / Q8BlockSize * Q8BlockBytes : -1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            n = checked(n * d);
        }

        return n;
    }

    /// <summary>Decodes the whole tensor to f32 (dequantizing q8_0). <paramref name="destination"/> must hold ElementCount values.</summary>
    public static void ToF32(TensorView tensor, Span<float> destination)
    {
        long n = tensor.ElementCount;
        if (destination.Length != n)
        {
            throw new ArgumentException($"tensor '{tensor.Name}' has {n} elements; destination holds {destination.Length}");
        }

        var bytes = new ReadOnlySpan<byte>(tensor.Data, checked((int)tensor.ByteLength));
        Decode(tensor.DType, bytes, destination);
    }

    public static float[] ToF32(TensorView tensor)
    {
        var result = new float[tensor.ElementCount];
        ToF32(tensor, result);
        return result;
    }

    /// <summary>Decodes <paramref name="source"/> (stored as <paramref name="dtype"/>) into f32 values.</summary>
    public static void Decode(DType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source)[..destination.Length].CopyTo(destination);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source)[..destination.Length], destination);
                break;
            case DType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(source);
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                }

                break;
            case DType.Q8_0:
                DecodeQ8(source, destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null);
        }
    }

    /// <summary>Encodes f32 values as <paramref name="dtype"/> (round to nearest even for f16/bf16; ggml's q8_0 rounding).</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, DType dtype)
    {
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
                TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<byte, Half>(bytes.AsSpan()));
                break;
            case DType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
                for (int i = 0; i < values.Length; i++)
                {
                    raw[i] = FloatToBf16(values[i]);
                }

                break;
            case DType.Q8_0:
                EncodeQ8(values, bytes);
                break;
        }

        return bytes;
    }

    public static ushort FloatToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    private static void DecodeQ8(ReadOnlySpan<byte> source, Span<float> destination)
    {
        int blocks = destination.Length / Q8BlockSize;
        for (int b = 0; b < blocks; b++)
        {
            var block = source.Slice(b * Q8BlockBytes, Q8BlockBytes);
            float d = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block));
            var qs = MemoryMarshal.Cast<byte, sbyte>(block[2..]);
            var dst = destination.Slice(b * Q8BlockSize, Q8BlockSize);
            for (int j = 0; j < Q8BlockSize; j++)
            {
                dst[j] = qs[j] * d;
            }
        }
    }

    // Same arithmetic as ggml's reference quantize_row_q8_0: d = amax/127, q = round(x/d) (away from zero).
    private static void EncodeQ8(ReadOnlySpan<float> values, Span<byte> bytes)
    {
        int blocks = values.Length / Q8BlockSize;
        for (int b = 0; b < blocks; b++)
        {
            var x = values.Slice(b * Q8BlockSize, Q8BlockSize);
            float amax = 0;
            foreach (float v in x)
            {
                amax = MathF.Max(amax, MathF.Abs(v));
            }

            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            var block = bytes.Slice(b * Q8BlockBytes, Q8BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, BitConverter.HalfToUInt16Bits((Half)d));
            for (int j = 0; j < Q8BlockSize; j++)
            {
                block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
            }
        }
    }
}
