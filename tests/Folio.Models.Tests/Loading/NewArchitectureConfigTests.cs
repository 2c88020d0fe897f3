using System.Text.Json;
using Folio.Models.Loading;
using Folio.Models;

namespace Folio.Models.Tests.Loading;

/// <summary>Qwen3 and Gemma 2/3 config.json files: what each key (or its absence) becomes, and what is refused naming the key.</summary>
public class NewArchitectureConfigTests
{
    private const string Shape = "\"hidden_size\":256,\"intermediate_size\":512,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"num_hidden_layers\":6,\"vocab_size\":1000";

    private static ModelConfig Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return HuggingFaceConfig.Parse("config.json", doc.RootElement);
    }

    private static string Refusal(string json) => Assert.Throws<ModelFormatException>(() => Parse(json)).Message;

    [Fact]
    public void Qwen3_takes_q_k_norms_and_its_own_head_dim_default_of_128()
    {
        var c = Parse("{\"architectures\":[\"Qwen3ForCausalLM\"]," + Shape + "}");
        Assert.True(c.QkNorm);
        Assert.Equal(128, c.HeadDim);
        Assert.False(c.AttentionBias);
        Assert.Empty(c.BeyondLlama().Except(["q/k norms"]));
    }

    [Fact]
    public void Qwen3_with_use_sliding_window_windows_the_layers_from_max_window_layers_up()
    {
        var c = Parse("{\"architectures\":[\"Qwen3ForCausalLM\"]," + Shape + ",\"use_sliding_window\":true,\"sliding_window\":512,\"max_window_layers\":4}");
        Assert.Equal(512, c.SlidingWindow);
        Assert.Equal([false, false, false, false, true, true], Enumerable.Range(0, 6).Select(c.IsLocalLayer));
        Assert.Null(c.WindowOfEveryLayer);
        Assert.Contains("max_window_layers", Refusal("{\"architectures\":[\"Qwen3ForCausalLM\"]," + Shape + ",\"use_sliding_window\":true,\"max_window_layers\":-1}"));
    }

    [Fact]
    public void Qwen_layer_types_decide_the_windowed_layers_over_max_window_layers_as_transformers_keeps_them()
    {
        const string full = "\"full_attention\"";
        const string slide = "\"sliding_attention\"";
        string Json(string arch, string flags, params string[] types) =>
            "{\"architectures\":[\"" + arch + "\"]," + Shape + "," + flags + ",\"layer_types\":[" + string.Join(",", types) + "]}";

        // Given, layer_types wins over max_window_layers (Qwen2Config/Qwen3Config only derive it when absent).
        var c = Parse(Json("Qwen3ForCausalLM", "\"use_sliding_window\":true,\"sliding_window\":64,\"max_window_layers\":4", full, full, slide, slide, slide, slide));
        Assert.Equal(64, c.SlidingWindow);
        Assert.Equal([false, false, true, true, true, true], Enumerable.Range(0, 6).Select(c.IsLocalLayer));
        var q2 = Parse(Json("Qwen2ForCausalLM", "\"use_sliding_window\":true,\"sliding_window\":64,\"max_window_layers\":28", full, full, full, full, full, slide));
        Assert.Equal([false, false, false, false, false, true], Enumerable.Range(0, 6).Select(q2.IsLocalLayer));

        // What transformers writes for a model without windows loads as one.
        Assert.Null(Parse(Json("Qwen2ForCausalLM", "\"use_sliding_window\":false,\"sliding_window\":64", full, full, full, full, full, full)).SlidingWindow);
        Assert.Null(Parse(Json("Qwen3ForCausalLM", "\"use_sliding_window\":true,\"sliding_window\":64,\"max_window_layers\":0", full, full, full, full, full, full)).SlidingWindow);

        // Sliding layers without a window, a layout Folio cannot run, and a type it does not know are refused naming layer_types.
        Assert.Contains("layer_types[1]", Refusal(Json("Qwen3ForCausalLM", "\"use_sliding_window\":false,\"sliding_window\":64", full, slide, slide, slide, slide, slide)));
        Assert.Contains("layer_types[3]", Refusal(Json("Qwen3ForCausalLM", "\"use_sliding_window\":true,\"sliding_window\":64", full, full, slide, full, slide, slide)));
        Assert.Contains("layer_types[0]", Refusal(Json("Qwen2ForCausalLM", "\"use_sliding_window\":true,\"sliding_window\":64", "\"chunked_attention\"", full, full, full, full, full)));
        Assert.Contains("layer_types", Refusal(Json("Qwen2ForCausalLM", "\"use_sliding_window\":true,\"sliding_window\":64", full, slide)));
    }

    [Fact]
    public void Qwen3_moe_reads_its_experts_with_transformers_defaults()
    {
        var c = Parse("{\"architectures\":[\"Qwen3MoeForCausalLM\"]," + Shape + ",\"num_experts\":8,\"num_experts_per_tok\":2,\"moe_intermediate_size\":96}");
        Assert.Equal(8, c.NumExperts);
        Assert.Equal(2, c.NumExpertsPerToken);
        Assert.Equal(96, c.ExpertIntermediateSize);
        Assert.False(c.NormTopKProb); // Qwen3MoeConfig's default; released models set it true
        Assert.True(c.QkNorm);
        Assert.Contains("mixture of experts", c.BeyondLlama());
    }

    [Theory]
    [InlineData("\"decoder_sparse_step\":0", "decoder_sparse_step")]
    [InlineData("\"mlp_only_layers\":[6]", "mlp_only_layers")]
    [InlineData("\"num_experts\":4,\"num_experts_per_tok\":5", "num_experts_per_tok")]
    public void Qwen3_moe_layouts_folio_does_not_run_are_refused_naming_the_key(string extra, string key)
    {
        Assert.Contains(key, Refusal("{\"architectures\":[\"Qwen3MoeForCausalLM\"]," + Shape + "," + extra + "}"));
    }

    [Fact]
    public void Gemma2_defaults_are_transformers_defaults()
    {
        var c = Parse("{\"architectures\":[\"Gemma2ForCausalLM\"]," + Shape + "}");
        Assert.Equal(256, c.HeadDim);
        Assert.Equal(1f, c.NormWeightOffset);
        Assert.Equal(MlpActivation.GeluTanh, c.Activation);
        Assert.Equal(16f, c.EmbeddingScale);
        Assert.True(c.SandwichNorms);
        Assert.False(c.QkNorm);
        Assert.Equal(50f, c.AttentionLogitSoftcap);
        Assert.Equal(30f, c.FinalLogitSoftcap);
        Assert.Equal(1f / 16f, c.AttentionScale);
        Assert.Equal(4096, c.SlidingWindow);
        Assert.True(c.IsLocalLayer(0));
        Assert.False(c.IsLocalLayer(1));
        Assert.True(c.TieWordEmbeddings);
    }

    [Fact]
    public void Gemma3_has_q_k_norms_no_soft_caps_a_local_rope_base_and_five_local_layers_per_global()
    {
        var c = Parse("{\"architectures\":[\"Gemma3ForCausalLM\"]," + Shape + ",\"query_pre_attn_scalar\":64,\"sliding_window\":512}");
        Assert.True(c.QkNorm);
        Assert.Null(c.AttentionLogitSoftcap);
        Assert.Null(c.FinalLogitSoftcap);
        Assert.Equal(10000f, c.RopeLocalTheta);
        Assert.Equal(1000000f, c.RopeTheta);
        Assert.Equal(1f / 8f, c.AttentionScale);
        Assert.Equal([true, true, true, true, true, false], Enumerable.Range(0, 6).Select(c.IsLocalLayer));
    }

    [Fact]
    public void Gemma3_layer_types_set_which_layers_are_local()
    {
        string types = "\"layer_types\":[\"sliding_attention\",\"full_attention\",\"sliding_attention\",\"full_attention\",\"sliding_attention\",\"full_attention\"]";
        var c = Parse("{\"architectures\":[\"Gemma3ForCausalLM\"]," + Shape + "," + types + "}");
        Assert.Equal([true, false, true, false, true, false], Enumerable.Range(0, 6).Select(c.IsLocalLayer));

        string allGlobal = "\"layer_types\":[" + string.Join(",", Enumerable.Repeat("\"full_attention\"", 6)) + "]";
        Assert.Null(Parse("{\"architectures\":[\"Gemma3ForCausalLM\"]," + Shape + "," + allGlobal + "}").SlidingWindow);
    }

    [Fact]
    public void Layer_types_that_no_period_describes_are_refused_naming_the_key()
    {
        string types = "\"layer_types\":[\"sliding_attention\",\"full_attention\",\"full_attention\",\"sliding_attention\",\"sliding_attention\",\"full_attention\"]";
        Assert.Contains("layer_types", Refusal("{\"architectures\":[\"Gemma3ForCausalLM\"]," + Shape + "," + types + "}"));
    }

    [Fact]
    public void Gemma_with_another_activation_is_refused_naming_the_key()
    {
        Assert.Contains("hidden_activation \"relu\"", Refusal("{\"architectures\":[\"Gemma2ForCausalLM\"]," + Shape + ",\"hidden_activation\":\"relu\"}"));
    }

    [Fact]
    public void An_unknown_architecture_is_refused_listing_every_supported_one()
    {
        string message = Refusal("{\"architectures\":[\"PhimoeForCausalLM\"]," + Shape + "}");
        Assert.Contains("\"PhimoeForCausalLM\"", message);
        foreach (string a in HuggingFaceConfig.SupportedArchitectures)
        {
            Assert.Contains(a, message);
        }

        Assert.Contains("Gemma3ForCausalLM", HuggingFaceConfig.SupportedArchitectures);
    }

    [Fact]
    public void Gemma_gguf_names_map_to_the_four_norms_and_back()
    {
        Assert.Equal("model.layers.2.pre_feedforward_layernorm.weight", GgufTensorNames.ToHuggingFace("blk.2.ffn_norm.weight", sandwichNorms: true));
        Assert.Equal("model.layers.2.post_attention_layernorm.weight", GgufTensorNames.ToHuggingFace("blk.2.ffn_norm.weight"));
        Assert.Equal("blk.0.post_attention_norm.weight", GgufTensorNames.ToGguf("model.layers.0.post_attention_layernorm.weight", sandwichNorms: true));
        Assert.Equal("blk.0.post_ffw_norm.weight", GgufTensorNames.ToGguf("model.layers.0.post_feedforward_layernorm.weight", sandwichNorms: true));
        Assert.Equal("blk.1.attn_q_norm.weight", GgufTensorNames.ToGguf("model.layers.1.self_attn.q_norm.weight"));
    }
}
