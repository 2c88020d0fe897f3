using Folio.Engine.Model;

namespace Folio.Engine.Cpu;

/// <summary>
/// Rotary position embedding. Frequencies and angles are computed in double and rounded once to
/// f32 (cos, sin), which is closer to the exact rotation than either Hugging Face's f32 product or
/// ggml's iterated f32 powers, and identical for a position whichever batch it appears in.
/// </summary>
public static unsafe class RotaryEmbedding
{
    /// <summary>
    /// inv_freq[i] = theta^(-2i/headDim) for i in [0, headDim/2), with Llama 3 scaling applied as
    /// Hugging Face's _compute_llama3_parameters does: wavelengths longer than
    /// original_max_position_embeddings / low_freq_factor are divided by factor, shorter than
    /// original / high_freq_factor kept, and the band between interpolated smoothly.
    /// </summary>
    public static double[] InverseFrequencies(int headDim, float theta, Llama3RopeScaling? scaling)
    {
        int half = headDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++)
        {
            inv[i] = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
        }

        if (scaling is { } s)
        {
            double oldContext = s.OriginalMaxPositionEmbeddings;
            double lowFreqWavelen = oldContext / s.LowFreqFactor;
            double highFreqWavelen = oldContext / s.HighFreqFactor;
            for (int i = 0; i < half; i++)
            {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowFreqWavelen)
                {
                    inv[i] /= s.Factor;
                }
                else if (wavelen >= highFreqWavelen)
                {
                    double smooth = ((oldContext / wavelen) - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    inv[i] = ((1 - smooth) * inv[i] / s.Factor) + (smooth * inv[i]);
                }
            }
        }

        return inv;
    }

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
