using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// Llama 3 rope scaling expressed as llama.cpp stores it in GGUF: one divisor per rotary frequency
/// (the rope_freqs.weight tensor, headDim/2 values). Each frequency theta^(-2i/d) is divided by its
/// factor: 1 for short wavelengths, `factor` for long ones, a smooth blend in between.
/// </summary>
public static class Llama3RopeFactors
{
    public static float[] Compute(int headDim, float ropeTheta, Llama3RopeScaling s)
    {
        var factors = new float[headDim / 2];
        double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / (double)s.LowFreqFactor;
        double highFreqWavelen = s.OriginalMaxPositionEmbeddings / (double)s.HighFreqFactor;
        for (int i = 0; i < factors.Length; i++)
        {
            double freq = 1.0 / Math.Pow(ropeTheta, 2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highFreqWavelen)
            {
                factors[i] = 1f;
            }
            else if (wavelen > lowFreqWavelen)
            {
                factors[i] = s.Factor;
            }
            else
            {
                double smooth = ((s.OriginalMaxPositionEmbeddings / wavelen) - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                factors[i] = (float)(1.0 / (((1 - smooth) / s.Factor) + smooth));
            }
        }

        return factors;
    }

    /// <summary>
    /// Recovers the scaling parameters from stored factors for files that carry only the tensor: tries
    /// Llama 3.1's published low/high frequency factors (1, 4) with the largest factor as `factor`.
    /// Returns null when no such parameters reproduce the tensor.
    /// </summary>
    public static Llama3RopeScaling? TryRecover(ReadOnlySpan<float> stored, int headDim, float ropeTheta, int originalContext)
    {
        float factor = 0;
        foreach (float f in stored)
        {
            factor = MathF.Max(factor, f);
        }

        var candidate = new Llama3RopeScaling(factor, 1f, 4f, originalContext);
        var computed = Compute(headDim, ropeTheta, candidate);
        for (int i = 0; i < stored.Length; i++)
        {
            if (MathF.Abs(computed[i] - stored[i]) > 1e-3f * MathF.Max(1f, MathF.Abs(stored[i])))
            {
                return null;
            }
        }

        return candidate;
    }
}
