using Folio.Models.Loading;
using Folio.Models;

namespace Folio.Models.Tests.Loading;

public class DTypeEncodingTests
{
    private static float[] Sample(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 4) - 2)).ToArray();
    }

    [Fact]
    public void F16_round_trip_matches_the_runtime_half_conversion()
    {
        var x = Sample(1000, 1);
        var back = new float[x.Length];
        DTypeConversion.Decode(DType.F16, DTypeConversion.Encode(x, DType.F16), back);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal((float)(Half)x[i], back[i]);
        }
    }

    [Fact]
    public void Bf16_round_trip_rounds_to_the_nearest_bf16_value()
    {
        var x = Sample(1000, 2);
        var back = new float[x.Length];
        DTypeConversion.Decode(DType.BF16, DTypeConversion.Encode(x, DType.BF16), back);
        for (int i = 0; i < x.Length; i++)
        {
            // Independent reference: the two bf16 neighbours by truncation, pick the nearer one.
            uint bits = BitConverter.SingleToUInt32Bits(x[i]);
            float down = BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
            float up = BitConverter.UInt32BitsToSingle((bits & 0xFFFF0000u) + 0x10000u);
            float nearest = Math.Abs(x[i] - down) <= Math.Abs(up - x[i]) ? down : up;
            Assert.True(back[i] == nearest || Math.Abs(x[i] - down) == Math.Abs(up - x[i]), $"element {i}: {x[i]} -> {back[i]}, expected {nearest}");
        }
    }

    [Fact]
    public void Q8_0_round_trip_is_within_half_a_quantization_step()
    {
        var x = Sample(32 * 20, 3);
        var bytes = DTypeConversion.Encode(x, DType.Q8_0);
        Assert.Equal(20 * 34, bytes.Length);
        var back = new float[x.Length];
        DTypeConversion.Decode(DType.Q8_0, bytes, back);
        for (int b = 0; b < 20; b++)
        {
            float amax = x.Skip(b * 32).Take(32).Max(MathF.Abs);
            float step = amax / 127f;
            for (int j = 0; j < 32; j++)
            {
                int i = (b * 32) + j;
                // Half a step, plus the error of the scale's own f16 rounding times the largest code (127).
                Assert.True(Math.Abs(back[i] - x[i]) <= (step * 0.5f) + (127 * step * 1e-3f), $"element {i}: {x[i]} -> {back[i]}");
            }
        }
    }

    [Fact]
    public void Q8_0_block_layout_is_f16_scale_then_32_signed_bytes()
    {
        var x = new float[32];
        x[0] = 127f;
        x[1] = -63.5f;
        var bytes = DTypeConversion.Encode(x, DType.Q8_0);
        Assert.Equal((Half)1f, BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(bytes, 0)));
        Assert.Equal(127, (sbyte)bytes[2]);
        Assert.Equal(-64, (sbyte)bytes[3]); // ggml rounds half away from zero
        Assert.Equal(0, (sbyte)bytes[4]);
    }
}
