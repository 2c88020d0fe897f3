using Folio.Engine.Loading;
using Folio.Engine.Model;

namespace Folio.Engine.Tests.Loading;

public class Llama3RopeFactorsTests
{
    // transformers' _compute_llama3_parameters, rewritten here as the reference: scaled inv_freq per pair.
    internal static double[] ReferenceScaledInvFreq(int dim, double theta, double factor, double low, double high, double oldCtx)
    {
        var result = new double[dim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double invFreq = 1.0 / Math.Pow(theta, 2.0 * i / dim);
            double wavelen = 2 * Math.PI / invFreq;
            double scaled = wavelen > oldCtx / low ? invFreq / factor : invFreq;
            double smooth = ((oldCtx / wavelen) - low) / (high - low);
            bool medium = !(wavelen < oldCtx / high) && !(wavelen > oldCtx / low);
            result[i] = medium ? ((1 - smooth) * scaled / factor) + (smooth * scaled) : scaled;
        }

        return result;
    }

    [Fact]
    public void Factors_divide_frequencies_exactly_as_transformers_scales_them()
    {
        var s = new Llama3RopeScaling(8f, 1f, 4f, 8192);
        var factors = Llama3RopeFactors.Compute(128, 500000f, s);
        var reference = ReferenceScaledInvFreq(128, 500000, 8, 1, 4, 8192);
        Assert.Contains(factors, f => f == 1f);
        Assert.Contains(factors, f => f == 8f);
        Assert.Contains(factors, f => f is > 1f and < 8f);
        for (int i = 0; i < factors.Length; i++)
        {
            double invFreq = 1.0 / Math.Pow(500000, 2.0 * i / 128);
            Assert.Equal(reference[i], invFreq / factors[i], 1e-6 * invFreq);
        }
    }

    [Fact]
    public void Published_llama31_parameters_are_recovered_from_the_tensor_alone()
    {
        var s = new Llama3RopeScaling(8f, 1f, 4f, 8192);
        var stored = Llama3RopeFactors.Compute(128, 500000f, s);
        Assert.Equal(s, Llama3RopeFactors.TryRecover(stored, 128, 500000f, 8192));
        stored[10] *= 1.5f;
        Assert.Null(Llama3RopeFactors.TryRecover(stored, 128, 500000f, 8192));
    }
}
