using Folio.Models.Loading;
using Folio.Models;
using Folio.Testing;

using Folio.ModelTools;

namespace Folio.Models.Tests.Loading;

public class GgufArchitectureTests
{
    /// <summary>A qwen2 GGUF as llama.cpp's converter writes one: qwen2.* keys, biases, q/k rows not permuted.</summary>
    private static void WriteQwen2(string path, TestModelOptions o)
    {
        var c = TestModelWriter.Config(o);
        var weights = TestModelWriter.Weights(o);
        var w = new GgufWriter();
        w.AddString("general.architecture", "qwen2");
        w.AddUInt32("qwen2.context_length", (uint)c.MaxPositionEmbeddings);
        w.AddUInt32("qwen2.embedding_length", (uint)c.HiddenSize);
        w.AddUInt32("qwen2.block_count", (uint)c.NumLayers);
        w.AddUInt32("qwen2.feed_forward_length", (uint)c.IntermediateSize);
        w.AddUInt32("qwen2.attention.head_count", (uint)c.NumHeads);
        w.AddUInt32("qwen2.attention.head_count_kv", (uint)c.NumKvHeads);
        w.AddFloat32("qwen2.rope.freq_base", 1000000f);
        w.AddFloat32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
        GgufTokenizerMetadataWriter.Write(w, TestModelWriter.Tokenizer(o));
        foreach (var e in ModelTensorChecker.Expected(c))
        {
            w.AddTensor(GgufTensorNames.ToGguf(e.Name)!, GgmlType.F32, e.Shape.Reverse().ToArray(), DTypeConversion.Encode(weights[e.Name], DType.F32));
        }

        w.Write(path);
    }

    [Fact]
    public void Qwen2_gguf_loads_with_rotate_half_rope_and_biases_and_unpermuted_rows()
    {
        using var dir = new TempDir();
        var o = new TestModelOptions { Bias = true, Tied = true, Vocab = 300, Seed = 8 };
        WriteQwen2(dir.File("q.gguf"), o);
        using var m = ModelLoader.Load(dir.File("q.gguf"));
        Assert.Equal("qwen2", m.Config.Architecture);
        Assert.Equal(RopeStyle.RotateHalf, m.Config.RopeStyle);
        Assert.True(m.Config.AttentionBias);
        Assert.True(m.Config.TieWordEmbeddings);
        Assert.Equal(1000000f, m.Config.RopeTheta);
        Assert.Equal(1e-6f, m.Config.RmsNormEps);
        Assert.Equal(TestModelWriter.Weights(o)["model.layers.1.self_attn.q_proj.weight"], DTypeConversion.ToF32(m.Require("model.layers.1.self_attn.q_proj.weight")));
    }

    [Fact]
    public void Gguf_names_map_to_canonical_names_and_back()
    {
        var config = TestModelWriter.Config(new TestModelOptions { Bias = true });
        foreach (var e in ModelTensorChecker.Expected(config))
        {
            string gguf = GgufTensorNames.ToGguf(e.Name)!;
            Assert.Equal(e.Name, GgufTensorNames.ToHuggingFace(gguf));
        }

        Assert.Equal("model.layers.12.mlp.down_proj.weight", GgufTensorNames.ToHuggingFace("blk.12.ffn_down.weight"));
        Assert.Equal("blk.3.attn_output.weight", GgufTensorNames.ToGguf("model.layers.3.self_attn.o_proj.weight"));
        Assert.Null(GgufTensorNames.ToHuggingFace("blk.x.attn_q.weight"));
    }
}
