namespace Folio.Models;

/// <summary>
/// The rotary embedding's frequencies, part of a model's math and shared by every backend: computed
/// in double so that each backend rounds them once, the same way.
/// </summary>
public static class RopeFrequencies
{
    /// <summary>
    /// inv_freq[i] = theta^(-2i/headDim) for i in [0, headDim/2), with Llama 3 scaling applied as
    /// Hugging Face's _compute_llama3_parameters does: wavelengths longer than
    /// original_max_position_embeddings / low_freq_factor are divided by factor, shorter than
    /// original / high_freq_factor kept, and the band between interpolated smoothly.
    /// </summary>
    public static double[] Inverse(int headDim, float theta, Llama3RopeScaling? scaling)
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
}
