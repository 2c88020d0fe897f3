using CsCheck;

namespace Folio.Cpu.Tests;

/// <summary>
/// Attention's softmax divides by <see cref="VectorMath.Sum"/>, which keeps sixteen lanes whatever
/// the hardware: on this machine's vectors it must give the bits of its one-float-at-a-time form
/// (the form a machine without vectors runs), at every length, so a probability never depends on
/// the vector width; and its order must be the one it states.
/// </summary>
public sealed unsafe class VectorMathSumTests
{
    private static readonly Gen<float> Value = Gen.Frequency(
        (8, Gen.Float[-1e4f, 1e4f]),
        (2, Gen.Float[0f, 1f]),
        (1, Gen.OneOfConst(0f, -0f, float.Epsilon, float.MaxValue, -float.MaxValue, float.PositiveInfinity)));

    [Fact]
    public void Sum_has_the_bits_of_its_scalar_form_for_any_length_and_values()
    {
        Gen.Int[0, 100].SelectMany(n => Value.Array[n]).Sample(values =>
        {
            float vector, scalar;
            fixed (float* p = values)
            {
                vector = VectorMath.Sum(p, values.Length);
                scalar = VectorMath.SumScalar(p, values.Length);
            }

            Assert.True(
                BitConverter.SingleToInt32Bits(vector) == BitConverter.SingleToInt32Bits(scalar) || (float.IsNaN(vector) && float.IsNaN(scalar)),
                $"{values.Length} values: vector {vector:R}, scalar {scalar:R}");
        }, iter: 4000);
    }

    [Fact]
    public void Sum_adds_in_sixteen_lanes_then_the_tree_then_the_tail()
    {
        // In key order 1e8 + -1e8 + 1 is 1. In lanes, 1 sits in lane 2 and meets 1e8 (lane 0) in the
        // tree's last step, where it is absorbed (floats are 8 apart there): (1e8 + 1) + -1e8 = 0.
        var x = new float[16];
        x[0] = 1e8f;
        x[1] = -1e8f;
        x[2] = 1f;
        fixed (float* p = x)
        {
            Assert.Equal(0f, VectorMath.Sum(p, x.Length));
            Assert.Equal(0f, VectorMath.SumScalar(p, x.Length));
        }

        // The tail comes after the tree, in order: 0 from the lanes, then 1e8, -1e8 and 1 give 1.
        var tailed = new float[19];
        tailed[16] = 1e8f;
        tailed[17] = -1e8f;
        tailed[18] = 1f;
        fixed (float* p = tailed)
        {
            Assert.Equal(1f, VectorMath.Sum(p, tailed.Length));
        }
    }
}
