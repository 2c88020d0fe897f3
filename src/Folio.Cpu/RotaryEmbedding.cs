using Folio.Models;

namespace Folio.Cpu;

/// <summary>
/// Rotary position embedding. Frequencies and angles are computed in double and rounded once to
/// f32 (cos, sin), which is closer to the exact rotation than either Hugging Face's f32 product or
/// ggml's iterated f32 powers, and identical for a position whichever batch it appears in.
/// </summary>
public static unsafe class RotaryEmbedding
{
    /// <summary>The rotary inverse frequencies of a model: see <see cref="RopeFrequencies.Inverse"/>.</summary>
    public static double[] InverseFrequencies(int headDim, float theta, Llama3RopeScaling? scaling) => RopeFrequencies.Inverse(headDim, theta, scaling);

    /// <summary>cos/sin of position · inv_freq[i], each [headDim/2].</summary>
    public static void Angles(int position, ReadOnlySpan<double> invFreq, Span<float> cos, Span<float> sin)
    {
        for (int i = 0; i < invFreq.Length; i++)
        {
            double a = position * invFreq[i];
            cos[i] = (float)Math.Cos(a);
            sin[i] = (float)Math.Sin(a);
        }
    }

    /// <summary>Rotates one head in place. RotateHalf pairs (i, i + headDim/2); Interleaved pairs (2i, 2i + 1).</summary>
    internal static void ApplyHead(float* x, float* cos, float* sin, int headDim, RopeStyle style)
    {
        int half = headDim / 2;
        if (style == RopeStyle.RotateHalf)
        {
            for (int i = 0; i < half; i++)
            {
                float a = x[i];
                float b = x[i + half];
                x[i] = (a * cos[i]) - (b * sin[i]);
                x[i + half] = (b * cos[i]) + (a * sin[i]);
            }
        }
        else
        {
            for (int i = 0; i < half; i++)
            {
                float a = x[2 * i];
                float b = x[(2 * i) + 1];
                x[2 * i] = (a * cos[i]) - (b * sin[i]);
                x[(2 * i) + 1] = (b * cos[i]) + (a * sin[i]);
            }
        }
    }
}
