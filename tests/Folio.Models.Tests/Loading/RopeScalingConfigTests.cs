using System.Text.Json;
using Folio.Models.Loading;
using Folio.Models;

namespace Folio.Models.Tests.Loading;

/// <summary>
/// config.json's rope_scaling kinds and Phi-3's keys: what each becomes with transformers' defaults,
/// what is refused naming the key, and dynamic NTK's frequencies against transformers' formula.
/// </summary>
public class RopeScalingConfigTests
{
    private const string Llama = "\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":256,\"intermediate_size\":512,\"num_attention_heads\":4,\"num_hidden_layers\":2,\"vocab_size\":1000,\"max_position_embeddings\":4096";
    private const string Phi3 = "\"architectures\":[\"Phi3ForCausalLM\"],\"hidden_size\":256,\"intermediate_size\":512,\"num_attention_heads\":4,\"num_hidden_layers\":2,\"vocab_size\":1000";

    private static ModelConfig Parse(string body)
    {
        using var doc = JsonDocument.Parse("{" + body + "}");
        return HuggingFaceConfig.Parse("config.json", doc.RootElement);
    }

    private static string Refusal(string body) => Assert.Throws<ModelFormatException>(() => Parse(body)).Message;

    [Fact]
    public void Linear_and_dynamic_take_their_factor()
    {
        Assert.Equal(new LinearRopeScaling(4f), Parse(Llama + ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":4.0}").RopeScaling);
        Assert.Equal(new DynamicNtkRopeScaling(2f, 4096), Parse(Llama + ",\"rope_scaling\":{\"rope_type\":\"dynamic\",\"factor\":2.0}").RopeScaling);
        Assert.Contains("rope_scaling.factor", Refusal(Llama + ",\"rope_scaling\":{\"type\":\"linear\"}"));
    }

    [Fact]
    public void Yarn_takes_transformers_defaults_beta_32_and_1_and_attention_0_1_ln_factor_plus_1()
    {
        var y = Assert.IsType<YarnRopeScaling>(Parse(Llama + ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":1024}").RopeScaling);
        Assert.Equal((4f, 1024, 32f, 1f, true), (y.Factor, y.OriginalMaxPositionEmbeddings, y.BetaFast, y.BetaSlow, y.Truncate));
        Assert.Equal((float)((0.1 * Math.Log(4)) + 1), y.AttentionFactor, 6);

        var given = Assert.IsType<YarnRopeScaling>(Parse(Llama + ",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":8.0,\"attention_factor\":1.5,\"beta_fast\":16,\"beta_slow\":2}").RopeScaling);
        Assert.Equal((8f, 4096, 16f, 2f, 1.5f), (given.Factor, given.OriginalMaxPositionEmbeddings, given.BetaFast, given.BetaSlow, given.AttentionFactor));

        // DeepSeek's mscale / mscale_all_dim ratio.
        var ds = Assert.IsType<YarnRopeScaling>(Parse(Llama + ",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":40.0,\"mscale\":1.0,\"mscale_all_dim\":0.707}").RopeScaling);
        Assert.Equal((float)(((0.1 * Math.Log(40)) + 1) / ((0.1 * 0.707 * Math.Log(40)) + 1)), ds.AttentionFactor, 5);
    }

    [Fact]
    public void Phi3_longrope_reads_both_factor_sets_the_original_context_beside_rope_scaling_and_the_default_attention_factor()
    {
        string factors = "\"short_factor\":[1,1.1,1.2,1.3,1.4,1.5,1.6,1.7,1.8,1.9,2,2.1,2.2,2.3,2.4,2.5,2.6,2.7,2.8,2.9,3,3.1,3.2,3.3,3.4,3.5,3.6,3.7,3.8,3.9,4,4.1],"
            + "\"long_factor\":[" + string.Join(",", Enumerable.Range(0, 32).Select(i => 2 + i)) + "]";
        foreach (string type in new[] { "longrope", "su" })
        {
            var c = Parse(Phi3 + ",\"max_position_embeddings\":131072,\"original_max_position_embeddings\":4096,\"rope_scaling\":{\"type\":\"" + type + "\"," + factors + "}");
            var l = Assert.IsType<LongRopeScaling>(c.RopeScaling);
            Assert.Equal(4096, l.OriginalMaxPositionEmbeddings);
            Assert.Equal(1.1f, l.ShortFactor[1]);
            Assert.Equal(33f, l.LongFactor[31]);
            Assert.Equal((float)Math.Sqrt(1 + (Math.Log(32) / Math.Log(4096))), l.AttentionFactor, 6);
            Assert.Same(l.LongFactor, l.FactorsFor(c.MaxPositionEmbeddings));
            Assert.Same(l.ShortFactor, l.FactorsFor(4096));
            Assert.Equal(["longrope rope scaling"], c.BeyondLlama());
        }

        Assert.Contains("rope_scaling.long_factor", Refusal(Phi3 + ",\"rope_scaling\":{\"type\":\"longrope\"," + factors.Split(",\"long_factor")[0] + "}"));
        Assert.Contains("expected 32", Refusal(Phi3 + ",\"rope_scaling\":{\"type\":\"longrope\",\"short_factor\":[1,2],\"long_factor\":[1,2]}"));
    }

    [Fact]
    public void Phi3_partial_rotary_factor_rotates_the_leading_dimensions_and_its_sliding_window_windows_every_layer()
    {
        var c = Parse(Phi3 + ",\"partial_rotary_factor\":0.75,\"max_position_embeddings\":4096,\"sliding_window\":2047");
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(48, c.RotaryDim);
        Assert.Equal(4096, c.MaxPositionEmbeddings);
        Assert.Equal(2047, c.WindowOfEveryLayer);
        Assert.Equal(RopeStyle.RotateHalf, c.RopeStyle);
        Assert.Equal(["sliding-window attention", "partial rotary embeddings"], c.BeyondLlama());
        Assert.Contains("partial_rotary_factor", Refusal(Llama + ",\"partial_rotary_factor\":0.5"));
    }

    [Theory]
    [InlineData("rope_type", "mrope")]
    [InlineData("type", "ntk-by-parts")]
    public void An_unknown_rope_scaling_type_is_refused_naming_the_key_and_the_accepted_values(string key, string type)
    {
        string message = Refusal(Llama + ",\"rope_scaling\":{\"" + key + "\":\"" + type + "\",\"factor\":4}");
        Assert.Contains($"rope_scaling.{key} \"{type}\"", message);
        foreach (string accepted in HuggingFaceRopeScaling.AcceptedTypes)
        {
            Assert.Contains($"\"{accepted}\"", message);
        }
    }

    /// <summary>
    /// transformers' _compute_dynamic_ntk_parameters, written out here: base · ((factor · seq_len /
    /// max_pos) − (factor − 1))^(dim / (dim − 2)), inv_freq = base^(−2i/dim); Folio evaluates it once at
    /// seq_len = max_pos · factor (vLLM's choice) instead of per forward pass.
    /// </summary>
    [Fact]
    public void Dynamic_ntk_frequencies_are_transformers_formula_at_the_scaled_length()
    {
        var c = Parse(Llama + ",\"rope_theta\":10000.0,\"rope_scaling\":{\"type\":\"dynamic\",\"factor\":3.0}");
        int dim = c.HeadDim;
        double factor = 3, maxPos = 4096, seqLen = maxPos * factor;
        double b = 10000.0 * Math.Pow((factor * seqLen / maxPos) - (factor - 1), dim / (dim - 2.0));
        var inv = RopeFrequencies.Inverse(c);
        Assert.Equal(dim / 2, inv.Length);
        for (int i = 0; i < inv.Length; i++)
        {
            Assert.Equal(1.0 / Math.Pow(b, 2.0 * i / dim), inv[i], 12);
        }

        Assert.Equal(1.0, RopeFrequencies.AttentionFactor(c.RopeScaling));
    }

    [Fact]
    public void Linear_divides_every_frequency_by_its_factor()
    {
        var plain = RopeFrequencies.Inverse(64, 10000f, null);
        var linear = RopeFrequencies.Inverse(64, 10000f, new LinearRopeScaling(4f));
        for (int i = 0; i < plain.Length; i++)
        {
            Assert.Equal(plain[i] / 4, linear[i], 15);
        }
    }
}
