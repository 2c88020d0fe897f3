namespace Folio.Cuda.Tests.Reference;

/// <summary>bfloat16 rounding written here independently of folio_cuda.h (round to nearest, ties to even).</summary>
internal static class Bf16
{
    public static ushort FromFloat(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f))
        {
            return (ushort)((u >> 16) | 0x40);
        }

        uint lsb = (u >> 16) & 1;
        return (ushort)((u + 0x7FFF + lsb) >> 16);
    }

    public static float ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    public static float Round(float f) => ToFloat(FromFloat(f));

    public static ushort[] Encode(ReadOnlySpan<float> values)
    {
        var r = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            r[i] = FromFloat(values[i]);
        }

        return r;
    }

    public static float[] Decode(ReadOnlySpan<ushort> values)
    {
        var r = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            r[i] = ToFloat(values[i]);
        }

        return r;
    }
}
