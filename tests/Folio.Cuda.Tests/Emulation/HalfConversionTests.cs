using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>folio_cuda.h's hand-written 16-bit conversions against .NET's Half and an independent bf16 rounding.</summary>
public sealed unsafe class HalfConversionTests
{
    public HalfConversionTests() => EmuLibrary.EnsureLoaded();

    private static float[] Probes()
    {
        var rng = new Random(1);
        var list = new List<float> { 0f, -0f, 1f, -1f, 65504f, 65520f, 70000f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f, 2.9802326e-08f, 1e-10f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 3.0000002e38f, 1.00390625f, 1.01171875f };
        for (int i = 0; i < 20000; i++)
        {
            // random bit patterns cover subnormals, normals and rounding ties
            list.Add(BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, uint.MaxValue)));
            list.Add((float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 20))));
        }

        return [.. list];
    }

    [Fact]
    public void F16_round_trip_matches_dotnet_half_bit_for_bit()
    {
        var f = Probes();
        var h = new ushort[f.Length];
        var back = new float[f.Length];
        fixed (float* fp = f, bp = back)
        fixed (ushort* hp = h)
        {
            EmuKernels.F32ToF16(fp, hp, f.Length);
            EmuKernels.F16ToF32(hp, bp, f.Length);
        }

        for (int i = 0; i < f.Length; i++)
        {
            ushort expected = BitConverter.HalfToUInt16Bits((Half)f[i]);
            if (float.IsNaN(f[i]))
            {
                Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf(h[i])), $"nan {f[i]}");
                continue;
            }

            Assert.True(expected == h[i], $"f32->f16 of {f[i]:R} (0x{BitConverter.SingleToUInt32Bits(f[i]):x8}): expected 0x{expected:x4} got 0x{h[i]:x4}");
            Assert.Equal((float)BitConverter.UInt16BitsToHalf(h[i]), back[i]);
        }
    }

    [Fact]
    public void Bf16_round_trip_rounds_to_nearest_even()
    {
        var f = Probes();
        var b = new ushort[f.Length];
        var back = new float[f.Length];
        fixed (float* fp = f, bp = back)
        fixed (ushort* hp = b)
        {
            EmuKernels.F32ToBf16(fp, hp, f.Length);
            EmuKernels.Bf16ToF32(hp, bp, f.Length);
        }

        for (int i = 0; i < f.Length; i++)
        {
            if (float.IsNaN(f[i]))
            {
                Assert.True(float.IsNaN(back[i]));
                continue;
            }

            Assert.Equal(Bf16.FromFloat(f[i]), b[i]);
            Assert.Equal(BitConverter.UInt32BitsToSingle((uint)b[i] << 16), back[i]);
        }

        // a tie (1 + 2^-8) rounds to even (1), the next one up (1 + 3*2^-8) to 1 + 2^-6.
        Assert.Equal(1f, Bf16.ToFloat(b[Array.IndexOf(f, 1.00390625f)]));
        Assert.Equal(1.015625f, Bf16.ToFloat(b[Array.IndexOf(f, 1.01171875f)]));
    }
}
