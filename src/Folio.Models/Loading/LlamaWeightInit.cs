using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// The scale of every random weight of a synthetic Llama model, chosen so activations stay near
/// unit size at any width: matrices [out, in] have standard deviation 1/sqrt(in) (embeddings too,
/// which keeps tied logits near unit size), biases 0.1, and RMSNorm weights 1 (optionally 1 ± a
/// little noise, so a test notices a norm weight applied to the wrong tensor).
/// </summary>
public static class LlamaWeightInit
{
    public static (float Mean, float Std) Scale(ExpectedTensor tensor, bool noisyNorms)
    {
        if (tensor.Name.EndsWith("norm.weight", StringComparison.Ordinal))
        {
            return (1f, noisyNorms ? 0.1f : 0f);
        }

        if (tensor.Shape.Length == 1)
        {
            return (0f, 0.1f);
        }

        return (0f, 1f / MathF.Sqrt(tensor.Shape[1]));
    }

    /// <summary>Every tensor the config needs, in Hugging Face layout, as f32 arrays (fine for test-sized models).</summary>
    public static Dictionary<string, float[]> Generate(ModelConfig config, ulong seed, bool noisyNorms)
    {
        var expected = ModelTensorChecker.Expected(config);
        var result = new float[expected.Count][];
        Parallel.For(0, expected.Count, i =>
        {
            var e = expected[i];
            var (mean, std) = Scale(e, noisyNorms);
            result[i] = DeterministicWeights.Generate(checked((int)DTypeConversion.ElementCount(e.Shape)), seed, e.Name, mean, std);
        });
        var map = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (int i = 0; i < expected.Count; i++)
        {
            map.Add(expected[i].Name, result[i]);
        }

        return map;
    }
}
