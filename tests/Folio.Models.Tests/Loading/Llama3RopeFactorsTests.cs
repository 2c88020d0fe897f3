using Folio.Models.Loading;
using Folio.Models;
using Folio.Testing;

namespace Folio.Models.Tests.Loading;

public class Llama3RopeFactorsTests
{
    [Fact]
    public void Factors_divide_frequencies_exactly_as_transformers_scales_them()
    {
        var s = new Llama3RopeScaling(8f, 1f, 4f, 8192);
        var factors = Llama3RopeFactors.Compute(128, 500000f, s);
        var reference = ReferenceForward.Llama3ScaledInverseFrequencies(128, 500000, 8, 1, 4, 8192);
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
