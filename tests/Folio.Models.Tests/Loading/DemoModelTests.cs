using Folio.Models.Loading;
using Folio.Models;

namespace Folio.Models.Tests.Loading;

public class DemoModelTests
{
    [Fact]
    public void Demo_is_a_deterministic_50m_parameter_llama_with_the_gpt2_vocabulary()
    {
        using var a = ModelLoader.Load("demo");
        var c = a.Config;
        Assert.Equal((512, 8, 8, 1536, 50257), (c.HiddenSize, c.NumLayers, c.NumHeads, c.IntermediateSize, c.VocabSize));
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(50257, a.Tokenizer.VocabSize);
        long parameters = a.Tensors.Values.Sum(t => t.ElementCount);
        Assert.InRange(parameters, 40_000_000, 60_000_000);

        var embed = DTypeConversion.ToF32(a.Require("model.embed_tokens.weight"));
        double mean = embed.Average(x => (double)x);
        double std = Math.Sqrt(embed.Average(x => (double)x * x) - (mean * mean));
        Assert.InRange(mean, -1e-3, 1e-3);
        Assert.InRange(std, 0.9 / Math.Sqrt(512), 1.1 / Math.Sqrt(512));
        Assert.All(DTypeConversion.ToF32(a.Require("model.norm.weight")), x => Assert.Equal(1f, x));

        using var b = ModelLoader.Load("demo");
        var down = a.Require("model.layers.7.mlp.down_proj.weight");
        Assert.Equal(DTypeConversion.ToF32(down), DTypeConversion.ToF32(b.Require("model.layers.7.mlp.down_proj.weight")));
        Assert.NotEqual(DTypeConversion.ToF32(a.Require("model.layers.6.mlp.down_proj.weight")), DTypeConversion.ToF32(down));
    }
}
