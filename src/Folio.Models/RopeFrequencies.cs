namespace Folio.Models;

/// <summary>
/// The rotary embedding's frequencies, part of a model's math and shared by every backend: computed
/// in double so that each backend rounds them once, the same way.
/// </summary>
public static class RopeFrequencies
{
    /// <summary>A model's inverse frequencies, [RotaryDim / 2], for the context it serves (LongRoPE picks its factor set by it).</summary>
    public static double[] Inverse(ModelConfig c) => Inverse(c.RotaryDim, c.RopeTheta, c.RopeScaling, c.MaxPositionEmbeddings);

    /// <summary>
    /// inv_freq[i] = theta^(-2i/rotaryDim) for i in [0, rotaryDim/2), then scaled as the model's
    /// rope_scaling says, following transformers' modeling_rope_utils:
    /// llama3: wavelengths longer than original / low_freq_factor divided by factor, shorter than
    /// original / high_freq_factor kept, the band between interpolated smoothly;
    /// linear: every frequency divided by factor;
    /// dynamic: the base raised for the length original × factor (see <see cref="DynamicNtkRopeScaling"/>);
    /// yarn: interpolated and original frequencies blended by a linear ramp between the correction
    /// dimensions of beta_fast and beta_slow rotations (ggml's rope_yarn computes the same blend on angles);
    /// longrope: each frequency divided by its factor from the set <paramref name="contextLength"/> selects.
    /// </summary>
    public static double[] Inverse(int rotaryDim, float theta, RotaryScaling? scaling, int contextLength = 0)
    {
        double baseTheta = theta;
        if (scaling is DynamicNtkRopeScaling d)
        {
            // transformers: base * ((factor * seq_len / max_pos) - (factor - 1)) ^ (dim / (dim - 2)), at seq_len = max_pos * factor.
            double seqLen = (double)d.OriginalMaxPositionEmbeddings * d.Factor;
            baseTheta *= Math.Pow((d.Factor * seqLen / d.OriginalMaxPositionEmbeddings) - (d.Factor - 1), rotaryDim / (double)(rotaryDim - 2));
        }

        int half = rotaryDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++)
        {
            inv[i] = 1.0 / Math.Pow(baseTheta, 2.0 * i / rotaryDim);
        }

        switch (scaling)
        {
            case Llama3RopeScaling s:
                ApplyLlama3(inv, s);
                break;
            case LinearRopeScaling l:
                for (int i = 0; i < half; i++)
                {
                    inv[i] /= l.Factor;
                }

                break;
            case YarnRopeScaling y:
                ApplyYarn(inv, rotaryDim, theta, y);
                break;
            case LongRopeScaling lr:
                var factors = lr.FactorsFor(contextLength);
                for (int i = 0; i < half; i++)
                {
                    inv[i] /= factors[i];
                }

                break;
        }

        return inv;
    }

    /// <summary>The factor cos and sin are multiplied by (YaRN's and LongRoPE's attention factor; 1 for the rest).</summary>
    public static double AttentionFactor(RotaryScaling? scaling) => scaling switch
    {
        YarnRopeScaling y => y.AttentionFactor,
        LongRopeScaling l => l.AttentionFactor,
        _ => 1.0,
    };

    private static void ApplyLlama3(double[] inv, Llama3RopeScaling s)
    {
        double oldContext = s.OriginalMaxPositionEmbeddings;
        double lowFreqWavelen = oldContext / s.LowFreqFactor;
        double highFreqWavelen = oldContext / s.HighFreqFactor;
        for (int i = 0; i < inv.Length; i++)
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

    private static void ApplyYarn(double[] inv, int rotaryDim, double theta, YarnRopeScaling y)
    {
        double CorrectionDim(double rotations) => rotaryDim * Math.Log(y.OriginalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = CorrectionDim(y.BetaFast), high = CorrectionDim(y.BetaSlow);
        if (y.Truncate)
        {
            low = Math.Floor(low);
            high = Math.Ceiling(high);
        }

        low = Math.Max(low, 0);
        high = Math.Min(high, rotaryDim - 1);
        double span = high == low ? 0.001 : high - low;
        for (int i = 0; i < inv.Length; i++)
        {
            double ramp = Math.Clamp((i - low) / span, 0, 1);
            double extrapolation = 1 - ramp;
            inv[i] = (inv[i] / y.Factor * (1 - extrapolation)) + (inv[i] * extrapolation);
        }
    }
}
