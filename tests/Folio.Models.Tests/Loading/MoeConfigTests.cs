using System.Text.Json;
using Folio.Models.Loading;
using Folio.Models;

namespace Folio.Models.Tests.Loading;

/// <summary>Mixture-of-experts config.json keys: Mixtral's layout and Qwen-MoE's dense layers between sparse ones.</summary>
public class MoeConfigTests
{
    private const string Shape = "\"hidden_size\":256,\"intermediate_size\":512,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"num_hidden_layers\":6,\"vocab_size\":1000";

    private static ModelConfig Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return HuggingFaceConfig.Parse("config.json", doc.RootElement);
    }

    [Fact]
    public void Mixtral_takes_its_experts_from_num_local_experts_and_intermediate_size_with_mixtral_defaults()
    {
        var c = Parse("{\"architectures\":[\"MixtralForCausalLM\"]," + Shape + ",\"sliding_window\":null}");
        Assert.Equal(8, c.NumExperts);
        Assert.Equal(2, c.NumExpertsPerToken);
        Assert.Equal(512, c.ExpertIntermediateSize);
        Assert.True(c.NormTopKProb);
        Assert.Equal(1e6f, c.RopeTheta);
        Assert.Null(c.SlidingWindow);
        Assert.Empty(c.DenseMlpLayers);
        Assert.Empty(c.BeyondLlama().Except(["mixture of experts"]));

        var four = Parse("{\"architectures\":[\"MixtralForCausalLM\"]," + Shape + ",\"num_local_experts\":4,\"num_experts_per_tok\":1,\"rope_theta\":10000}");
        Assert.Equal((4, 1, 10000f), (four.NumExperts, four.NumExpertsPerToken, four.RopeTheta));
    }

    [Fact]
    public void Mixtral_checkpoint_names_map_to_the_canonical_expert_names_and_back()
    {
        (string Checkpoint, string Canonical)[] pairs =
        [
            ("model.layers.3.block_sparse_moe.gate.weight", "model.layers.3.mlp.gate.weight"),
            ("model.layers.3.block_sparse_moe.experts.7.w1.weight", "model.layers.3.mlp.experts.7.gate_proj.weight"),
            ("model.layers.3.block_sparse_moe.experts.7.w3.weight", "model.layers.3.mlp.experts.7.up_proj.weight"),
            ("model.layers.3.block_sparse_moe.experts.7.w2.weight", "model.layers.3.mlp.experts.7.down_proj.weight"),
            ("model.layers.3.self_attn.q_proj.weight", "model.layers.3.self_attn.q_proj.weight"),
        ];
        foreach (var (checkpoint, canonical) in pairs)
        {
            Assert.Equal(canonical, MixtralTensorNames.ToCanonical(checkpoint));
            Assert.Equal(checkpoint, MixtralTensorNames.ToCheckpoint(canonical));
        }
    }

    [Fact]
    public void Qwen2_moe_has_qwen2_attention_a_shared_expert_and_its_config_defaults()
    {
        var c = Parse("{\"architectures\":[\"Qwen2MoeForCausalLM\"]," + Shape + "}");
        Assert.Equal((60, 4, 1408, 5632), (c.NumExperts, c.NumExpertsPerToken, c.ExpertIntermediateSize, c.SharedExpertIntermediateSize));
        Assert.False(c.NormTopKProb);
        Assert.True(c.AttentionBias);
        Assert.False(c.QkNorm);
        Assert.Equal(64, c.HeadDim);
        Assert.Contains("shared experts", c.BeyondLlama());

        var sized = Parse("{\"architectures\":[\"Qwen2MoeForCausalLM\"]," + Shape + ",\"num_experts\":8,\"num_experts_per_tok\":2,\"moe_intermediate_size\":96,\"shared_expert_intermediate_size\":192,\"norm_topk_prob\":true}");
        Assert.Equal((8, 2, 96, 192, true), (sized.NumExperts, sized.NumExpertsPerToken, sized.ExpertIntermediateSize, sized.SharedExpertIntermediateSize, sized.NormTopKProb));
    }

    [Fact]
    public void Qwen3_moe_with_a_shared_expert_is_refused_naming_the_key()
    {
        var e = Assert.Throws<ModelFormatException>(() => Parse("{\"architectures\":[\"Qwen3MoeForCausalLM\"]," + Shape + ",\"shared_expert_intermediate_size\":128}"));
        Assert.Contains("shared_expert_intermediate_size", e.Message);
    }

    [Theory]
    [InlineData("\"mlp_only_layers\":[0,3]", new[] { 0, 3 })]
    [InlineData("\"decoder_sparse_step\":2", new[] { 0, 2, 4 })]
    [InlineData("\"decoder_sparse_step\":3,\"mlp_only_layers\":[5]", new[] { 0, 1, 3, 4, 5 })]
    [InlineData("\"decoder_sparse_step\":1,\"mlp_only_layers\":[]", new int[0])]
    public void Qwen3_moe_dense_layers_are_those_transformers_builds_dense(string extra, int[] dense)
    {
        var c = Parse("{\"architectures\":[\"Qwen3MoeForCausalLM\"]," + Shape + ",\"num_experts\":8,\"num_experts_per_tok\":2," + extra + "}");
        Assert.Equal(dense, c.DenseMlpLayers);
        Assert.Equal(dense, Enumerable.Range(0, 6).Where(l => !c.IsSparseLayer(l)));
        Assert.Equal(dense.Length > 0, c.BeyondLlama().Contains("dense layers between sparse ones"));
    }
}
