using Folio.Models;
using Folio.Models.Tests.Quantization;

namespace Folio.Cpu.Tests.Quantized;

/// <summary>
/// The int8 path's arithmetic written out in the tests, from the documented definition rather than
/// from the kernels: activations quantized per block as llama.cpp's q8_0/q8_1/q8_K do, weights
/// decoded by <see cref="GgmlReferenceBlocks"/>, integer sums per group, then the float steps in
/// their order. The kernels must give exactly these bits.
/// </summary>
internal static class Int8Reference
{
    public sealed record Row(sbyte[] Q, float[] D, float[] ScaledSums, int Block);

    public static Row Quantize(float[] x, int block)
    {
        var q = new sbyte[x.Length];
        var d = new float[x.Length / block];
        var s = new float[x.Length / block];
        for (int b = 0; b < d.Length; b++)
        {
            float amax = 0;
            for (int i = b * block; i < (b + 1) * block; i++)
            {
                amax = Math.Max(amax, Math.Abs(x[i]));
            }

            float scale = amax / 127f;
            float inverse = scale == 0 ? 0f : block == 32 ? 127f / amax : 1f / scale;
            int sum = 0;
            for (int i = b * block; i < (b + 1) * block; i++)
            {
                int v = Math.Clamp((int)MathF.Round(x[i] * inverse, MidpointRounding.ToEven), -127, 127);
                q[i] = (sbyte)v;
                sum += v;
            }

            d[b] = block == 32 ? (float)(Half)scale : scale;
            s[b] = (float)(Half)(scale * sum);
        }

        return new Row(q, d, s, block);
    }

    /// <summary>One output: weight row <paramref name="w"/> (GGML blocks of <paramref name="type"/>) against an activation row.</summary>
    public static float Output(DType type, byte[] w, Row x)
    {
        var (values, bytes) = GgmlReferenceBlocks.Layout(type);
        float acc = 0;
        for (int b = 0; b < w.Length / bytes; b++)
        {
            var block = GgmlReferenceBlocks.Decode(type, w.AsSpan(b * bytes, bytes).ToArray());
            int o = b * values;
            int isum = 0, imin = 0;
            for (int g = 0; g < block.GroupScales.Length; g++)
            {
                int t = 0, xs = 0;
                for (int k = g * block.GroupSize; k < (g + 1) * block.GroupSize; k++)
                {
                    t += block.Values[k] * x.Q[o + k];
                    xs += x.Q[o + k];
                }

                isum += block.GroupScales[g] * t;
                imin += block.GroupMins[g] * xs;
            }

            float dx = x.D[b];
            float c;
            if (values == 32)
            {
                // q4_1 / q5_1 store dmin = -m: the offset term is m * s.
                c = (float)isum * (block.D * dx);
                if (block.GroupMins[0] != 0)
                {
                    c += -block.DMin * x.ScaledSums[b];
                }
            }
            else
            {
                c = (float)isum * (block.D * dx);
                if (type is DType.Q2_K or DType.Q4_K or DType.Q5_K)
                {
                    c -= (float)imin * (block.DMin * dx);
                }
            }

            acc += c;
        }

        return acc;
    }
}
