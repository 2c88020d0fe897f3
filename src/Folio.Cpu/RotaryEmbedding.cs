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
    public static double[] InverseFrequencies(int headDim, float theta, RotaryScaling? scaling) => RopeFrequencies.Inverse(headDim, theta, scaling);

    /// <summary>
    /// cos/sin of position · inv_freq[i], each [rotaryDim/2], times <paramref name="attentionFactor"/>
    /// (YaRN's and LongRoPE's scale on q and k; 1 for the rest), rounded once.
    /// </summary>
    public static void Angles(int position, ReadOnlySpan<double> invFreq, Span<float> cos, Span<float> sin, double attentionFactor = 1.0)
    {
        for (int i = 0; i < invFreq.Length; i++)
        {
            double a = position * invFreq[i];
            cos[i] = (float)(Math.Cos(a) * attentionFactor);
            sin[i] = (float)(Math.Sin(a) * attentionFactor);
        }
    }

    /// <summary>
    /// Rotates the first <paramref name="rotaryDim"/> dimensions of one head in place; the rest pass
    /// through (partial rotary). RotateHalf pairs (i, i + rotaryDim/2); Interleaved pairs (2i, 2i + 1).
    /// </summary>
    internal static void ApplyHead(float* x, float* cos, float* sin, int rotaryDim, RopeStyle style)
    {
        int half = rotaryDim / 2;
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
