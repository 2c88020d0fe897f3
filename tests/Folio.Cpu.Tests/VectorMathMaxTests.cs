using CsCheck;

namespace Folio.Cpu.Tests;

/// <summary>
/// Attention's softmax takes its shift from <see cref="VectorMath.Max"/>, sixteen lanes at a time;
/// the shift feeds every probability, so it must be bit for bit the left-to-right MathF.Max fold
/// the kernel used before, for any length and any values, NaN and signed zeros included.
/// </summary>
public sealed unsafe class VectorMathMaxTests
{
    private static readonly float[] Specials = [float.NaN, 0f, -0f, float.NegativeInfinity, float.PositiveInfinity, float.MaxValue, -float.MaxValue, float.Epsilon, -float.Epsilon];

    private static readonly Gen<float> Value = Gen.Frequency(
        (6, Gen.Float[-1e4f, 1e4f]),
        (1, Gen.Int[0, Specials.Length - 1].Select(i => Specials[i])));

    [Fact]
    public void Max_is_the_scalar_fold_for_any_length_and_values()
    {
        Gen.Int[0, 80].SelectMany(n => Value.Array[n]).Sample(values =>
        {
            float expected = float.NegativeInfinity;
            foreach (float v in values)
            {
                expected = MathF.Max(expected, v);
            }

            float actual;
            fixed (float* p = values)
            {
                actual = VectorMath.Max(p, values.Length);
            }

            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
        }, iter: 4000);
    }

    [Fact]
    public void Max_keeps_positive_zero_over_negative_zero_and_nan_wherever_it_sits()
    {
        for (int n = 1; n <= 40; n++)
        {
            for (int at = 0; at < n; at++)
            {
                var zeros = Enumerable.Repeat(-0f, n).ToArray();
                zeros[at] = 0f;
                var nans = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
                nans[at] = float.NaN;
                fixed (float* z = zeros, q = nans)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(0f), BitConverter.SingleToInt32Bits(VectorMath.Max(z, n)));
                    Assert.True(float.IsNaN(VectorMath.Max(q, n)), $"NaN at {at} of {n} was lost");
                }
            }
        }
    }
}
