using System.Text.Json;
using Folio.Models.Loading;
using Folio.Models;

namespace Folio.Models.Tests.Loading;

public class HuggingFaceConfigTests
{
    private static ModelConfig Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return HuggingFaceConfig.Parse("config.json", doc.RootElement);
    }

    [Fact]
    public void Llama3_style_config_maps_every_field()
    {
        var c = Parse("""
            {"architectures":["LlamaForCausalLM"],"hidden_size":2048,"intermediate_size":8192,"num_attention_heads":32,
             "num_hidden_layers":16,"num_key_value_heads":8,"vocab_size":128256,"max_position_embeddings":131072,
             "rms_norm_eps":1e-05,"rope_theta":500000.0,"tie_word_embeddings":true,"bos_token_id":128000,
             "eos_token_id":[128001,128008,128009],"attention_bias":false,
             "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}
            """);
        Assert.Equal(64, c.HeadDim); // 2048 / 32
        Assert.Equal(8, c.NumKvHeads);
        Assert.Equal(500000f, c.RopeTheta);
        Assert.Equal(new Llama3RopeScaling(32f, 1f, 4f, 8192), c.RopeScaling);
        Assert.True(c.TieWordEmbeddings);
        Assert.False(c.AttentionBias);
        Assert.Equal(128000, c.BosTokenId);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.Equal(131072, c.MaxPositionEmbeddings);
        Assert.Equal(RopeStyle.RotateHalf, c.RopeStyle);
    }

    [Fact]
    public void Absent_optional_keys_take_the_transformers_defaults()
    {
        var c = Parse("""{"architectures":["MistralForCausalLM"],"hidden_size":256,"intermediate_size":512,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":1000,"eos_token_id":2}""");
        Assert.Equal(4, c.NumKvHeads); // defaults to num_attention_heads
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(10000f, c.RopeTheta);
        Assert.Null(c.RopeScaling);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal([2], c.EosTokenIds);
        Assert.Null(c.BosTokenId);
    }

    [Fact]
    public void Qwen2_always_has_attention_bias_and_explicit_head_dim_wins()
    {
        var c = Parse("""{"architectures":["Qwen2ForCausalLM"],"hidden_size":896,"intermediate_size":4864,"num_attention_heads":14,"num_hidden_layers":24,"num_key_value_heads":2,"vocab_size":151936,"head_dim":128}""");
        Assert.True(c.AttentionBias);
        Assert.Equal(128, c.HeadDim);
    }

    [Fact]
    public void A_sliding_window_windows_attention_and_leaves_the_context_at_max_position_embeddings()
    {
        const string shape = "\"hidden_size\":64,\"intermediate_size\":128,\"num_attention_heads\":4,\"num_hidden_layers\":4,\"vocab_size\":100,\"max_position_embeddings\":32768";
        var mistral = Parse("{\"architectures\":[\"MistralForCausalLM\"]," + shape + ",\"sliding_window\":4096}");
        Assert.Equal(32768, mistral.MaxPositionEmbeddings);
        Assert.Equal(4096, mistral.WindowOfEveryLayer);
        Assert.Contains("sliding-window attention", mistral.BeyondLlama());

        // MistralConfig's default is 4096 when the key is absent; null means no window (v0.2 on).
        Assert.Equal(4096, Parse("{\"architectures\":[\"MistralForCausalLM\"]," + shape + "}").SlidingWindow);
        var mistralNoWindow = Parse("{\"architectures\":[\"MistralForCausalLM\"]," + shape + ",\"sliding_window\":null}");
        Assert.Null(mistralNoWindow.SlidingWindow);
        Assert.Equal(32768, mistralNoWindow.MaxPositionEmbeddings);

        // Qwen2 windows only with use_sliding_window, and only layers >= max_window_layers.
        var qwenOff = Parse("{\"architectures\":[\"Qwen2ForCausalLM\"]," + shape + ",\"sliding_window\":4096,\"use_sliding_window\":false}");
        Assert.Null(qwenOff.SlidingWindow);
        Assert.Equal(32768, qwenOff.MaxPositionEmbeddings);
        var qwenAll = Parse("{\"architectures\":[\"Qwen2ForCausalLM\"]," + shape + ",\"sliding_window\":1024,\"use_sliding_window\":true,\"max_window_layers\":0}");
        Assert.Equal(1024, qwenAll.WindowOfEveryLayer);
        var qwenUpper = Parse("{\"architectures\":[\"Qwen2ForCausalLM\"]," + shape + ",\"sliding_window\":1024,\"use_sliding_window\":true,\"max_window_layers\":2}");
        Assert.Equal([false, false, true, true], Enumerable.Range(0, 4).Select(qwenUpper.IsLocalLayer));
        Assert.Null(qwenUpper.WindowOfEveryLayer);

        // Qwen2Config's max_window_layers defaults to 28: a 4-layer model has no windowed layer then.
        Assert.Null(Parse("{\"architectures\":[\"Qwen2ForCausalLM\"]," + shape + ",\"use_sliding_window\":true}").SlidingWindow);
    }

    [Fact]
    public void Llama_attention_bias_key_is_honoured()
    {
        var c = Parse("""{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":1,"vocab_size":100,"attention_bias":true}""");
        Assert.True(c.AttentionBias);
    }

    [Theory]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":1,"vocab_size":100}""", "hidden_size")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":1,"vocab_size":100,"rope_scaling":{"type":"mrope","factor":4}}""", "mrope")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_key_value_heads":3,"num_hidden_layers":1,"vocab_size":100}""", "num_key_value_heads")]
    [InlineData("""{"architectures":["LlamaForCausalLM"],"hidden_size":"64","intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":1,"vocab_size":100}""", "hidden_size")]
    [InlineData("""{"architectures":["FalconForCausalLM"],"hidden_size":64}""", "FalconForCausalLM")]
    public void Bad_configs_name_the_key(string json, string named)
    {
        var e = Assert.Throws<ModelFormatException>(() => Parse(json));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(named, e.Message);
    }
}
