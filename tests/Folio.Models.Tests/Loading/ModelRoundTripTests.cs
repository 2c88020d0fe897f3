using Folio.Models.Loading;
using Folio.Models;
using Folio.Testing;

using Folio.ModelTools;

namespace Folio.Models.Tests.Loading;

public class ModelRoundTripTests
{
    private static readonly TestModelOptions Small = new() { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, Seed = 11, Bias = true };

    /// <summary>Elementwise comparison of every tensor the config needs against the generated f32 weights.</summary>
    private static void AssertWeights(LoadedModel model, Dictionary<string, float[]> expected, float relTol, bool undoQkPermutation)
    {
        var c = model.Config;
        foreach (var e in ModelTensorChecker.Expected(c))
        {
            var actual = DTypeConversion.ToF32(model.Require(e.Name));
            int rowLength = e.Shape.Length == 2 ? (int)e.Shape[1] : 1;
            if (undoQkPermutation && e.Name.Contains(".q_proj.", StringComparison.Ordinal))
            {
                actual = QkPermutation.GgufToHuggingFace(actual, c.NumHeads, rowLength);
            }
            else if (undoQkPermutation && e.Name.Contains(".k_proj.", StringComparison.Ordinal))
            {
                actual = QkPermutation.GgufToHuggingFace(actual, c.NumKvHeads, rowLength);
            }

            var want = expected[e.Name];
            Assert.Equal(want.Length, actual.Length);
            float amax = want.Max(MathF.Abs);
            for (int i = 0; i < want.Length; i++)
            {
                if (MathF.Abs(want[i] - actual[i]) > relTol * amax)
                {
                    Assert.Fail($"{e.Name}[{i}]: expected {want[i]}, got {actual[i]}");
                }
            }
        }
    }

    private static string Fields(ModelConfig c) =>
        $"{c.HiddenSize} {c.NumLayers} {c.NumHeads} {c.NumKvHeads} {c.HeadDim} {c.IntermediateSize} {c.VocabSize} {c.MaxPositionEmbeddings} {c.RmsNormEps} {c.RopeTheta} {c.RopeScaling} {c.TieWordEmbeddings} {c.AttentionBias} {c.BosTokenId} [{string.Join(",", c.EosTokenIds)}]";

    [Theory]
    [InlineData(DType.F32, 0f)]
    [InlineData(DType.F16, 1e-3f)]
    [InlineData(DType.Q8_0, 1e-2f)]
    [InlineData(DType.BF16, 8e-3f)]
    public void Gguf_round_trip_gives_back_the_weights_after_undoing_the_qk_permutation(DType dtype, float tol)
    {
        using var dir = new TempDir();
        var o = Small with { DType = dtype };
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        using var m = ModelLoader.Load(path);

        Assert.Equal(RopeStyle.Interleaved, m.Config.RopeStyle);
        Assert.Equal(dtype, m.Require("model.layers.1.mlp.down_proj.weight").DType);
        Assert.Equal(DType.F32, m.Require("model.norm.weight").DType);
        AssertWeights(m, TestModelWriter.Weights(o), tol, undoQkPermutation: true);
    }

    [Fact]
    public void Gguf_q_and_k_rows_are_stored_permuted_not_as_given()
    {
        using var dir = new TempDir();
        TestModelWriter.Write(dir.File("m.gguf"), TestModelFormat.Gguf, Small);
        using var m = ModelLoader.Load(dir.File("m.gguf"));
        var stored = DTypeConversion.ToF32(m.Require("model.layers.0.self_attn.k_proj.weight"));
        Assert.NotEqual(TestModelWriter.Weights(Small)["model.layers.0.self_attn.k_proj.weight"], stored);
    }

    [Fact]
    public void Gguf_config_matches_the_options()
    {
        using var dir = new TempDir();
        var o = Small with { HeadDim = 32, RopeTheta = 500000f, Tied = true, Llama3Scaling = true, MaxPositions = 4096 };
        TestModelWriter.Write(dir.File("m.gguf"), TestModelFormat.Gguf, o);
        using var m = ModelLoader.Load(dir.File("m.gguf"));
        var want = TestModelWriter.Config(o);
        var c = m.Config;
        Assert.Equal((want.HiddenSize, want.NumLayers, want.NumHeads, want.NumKvHeads, want.HeadDim, want.IntermediateSize, want.VocabSize, want.MaxPositionEmbeddings),
            (c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.HeadDim, c.IntermediateSize, c.VocabSize, c.MaxPositionEmbeddings));
        Assert.Equal(32, c.HeadDim);
        Assert.Equal(500000f, c.RopeTheta);
        Assert.Equal(1e-5f, c.RmsNormEps);
        Assert.True(c.TieWordEmbeddings);
        Assert.False(m.Tensors.ContainsKey("lm_head.weight"));
        Assert.True(c.AttentionBias);
        Assert.Equal(want.RopeScaling, c.RopeScaling);
        Assert.Equal(want.BosTokenId, c.BosTokenId);
        Assert.Equal(want.EosTokenIds, c.EosTokenIds);
        Assert.Equal(300, m.Tokenizer.VocabSize);
        AssertWeights(m, TestModelWriter.Weights(o), 0f, undoQkPermutation: true);
    }

    [Theory]
    [InlineData(DType.F32, 1, 0f)]
    [InlineData(DType.F16, 1, 1e-3f)]
    [InlineData(DType.BF16, 3, 8e-3f)]
    public void Hugging_face_round_trip_gives_back_the_weights(DType dtype, int shards, float tol)
    {
        using var dir = new TempDir();
        var o = Small with { DType = dtype, Shards = shards };
        TestModelWriter.Write(dir.File("hf"), TestModelFormat.HuggingFace, o);
        if (shards > 1)
        {
            Assert.True(File.Exists(dir.File("hf/model.safetensors.index.json")));
            Assert.Equal(shards, Directory.GetFiles(dir.File("hf"), "model-*-of-*.safetensors").Length);
            Assert.False(File.Exists(dir.File("hf/model.safetensors")));
        }

        using var m = ModelLoader.Load(dir.File("hf"));
        Assert.Equal(RopeStyle.RotateHalf, m.Config.RopeStyle);
        Assert.Equal(dtype, m.Require("model.norm.weight").DType);
        Assert.Equal(Fields(TestModelWriter.Config(o)), Fields(m.Config));
        AssertWeights(m, TestModelWriter.Weights(o), tol, undoQkPermutation: false);
    }

    [Fact]
    public void Same_seed_gives_the_same_weights_in_both_formats_and_another_seed_does_not()
    {
        using var dir = new TempDir();
        TestModelWriter.Write(dir.File("hf"), TestModelFormat.HuggingFace, Small);
        TestModelWriter.Write(dir.File("m.gguf"), TestModelFormat.Gguf, Small);
        using var hf = ModelLoader.Load(dir.File("hf"));
        using var gg = ModelLoader.Load(dir.File("m.gguf"));
        foreach (var e in ModelTensorChecker.Expected(hf.Config))
        {
            var a = DTypeConversion.ToF32(hf.Require(e.Name));
            var b = DTypeConversion.ToF32(gg.Require(e.Name));
            if (e.Name.Contains(".q_proj.", StringComparison.Ordinal) || e.Name.Contains(".k_proj.", StringComparison.Ordinal))
            {
                int heads = e.Name.Contains(".q_proj.", StringComparison.Ordinal) ? hf.Config.NumHeads : hf.Config.NumKvHeads;
                b = QkPermutation.GgufToHuggingFace(b, heads, e.Shape.Length == 2 ? (int)e.Shape[1] : 1);
            }

            Assert.Equal(a, b);
        }

        Assert.NotEqual(TestModelWriter.Weights(Small)["model.embed_tokens.weight"], TestModelWriter.Weights(Small with { Seed = 12 })["model.embed_tokens.weight"]);
    }

    [Fact]
    public void Tensor_views_point_into_the_mapped_file_not_copies()
    {
        using var dir = new TempDir();
        TestModelWriter.Write(dir.File("hf"), TestModelFormat.HuggingFace, Small);
        using var m = ModelLoader.Load(dir.File("hf"));
        var a = m.Require("model.embed_tokens.weight");
        var b = m.Require("model.norm.weight");
        Assert.Equal(a.File, b.File);
        Assert.EndsWith("model.safetensors", a.File);
    }
}
