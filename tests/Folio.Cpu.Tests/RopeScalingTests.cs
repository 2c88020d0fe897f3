using Folio.Cpu.Tests.Support;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// Rope scalings beyond the llama.cpp oracle (ArchitectureOracleTests covers linear, YaRN and
/// LongRoPE against it): dynamic NTK, which llama.cpp lacks, against transformers' formula, and the
/// refusal of a GGUF rope.scaling.type Folio does not know.
/// </summary>
public sealed class RopeScalingTests
{
    /// <summary>
    /// Dynamic NTK is plain rope with a larger base: transformers' base · ((factor · seq_len / max_pos)
    /// − (factor − 1))^(dim / (dim − 2)), which Folio fixes at seq_len = max_pos · factor. The same
    /// weights with that base written as rope_theta and no scaling must give the same logits.
    /// </summary>
    [Fact]
    public void Dynamic_ntk_runs_as_plain_rope_with_transformers_enlarged_base()
    {
        var scaled = new TestModelOptions { Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 128, Vocab = 300, Seed = 81, MaxPositions = 32, RopeScaling = TestRopeScaling.Dynamic, RopeScalingFactor = 3f };
        int dim = 128 / 4;
        double factor = 3, maxPos = 32, seqLen = maxPos * factor;
        double enlarged = 10000.0 * Math.Pow((factor * seqLen / maxPos) - (factor - 1), dim / (dim - 2.0));
        var plain = scaled with { RopeScaling = TestRopeScaling.None, RopeTheta = (float)enlarged };

        using var dir = new TempDir();
        TestModelWriter.Write(dir.File("dynamic"), TestModelFormat.HuggingFace, scaled);
        TestModelWriter.Write(dir.File("plain"), TestModelFormat.HuggingFace, plain);
        var prompt = LlamaCppOracle.Prompt(300, 60);
        var a = LlamaCppOracle.FolioPromptLogits(dir.File("dynamic"), prompt);
        var b = LlamaCppOracle.FolioPromptLogits(dir.File("plain"), prompt);
        var (maxDiff, maxAbs) = LlamaCppOracle.Compare(b, a);
        Assert.True(maxAbs > 0.1, "degenerate logits");
        // rope_theta is an f32 in the plain model; the dynamic one computes its base in double.
        Assert.True(maxDiff <= 1e-5 * maxAbs, $"dynamic NTK vs its enlarged base: max |diff| {maxDiff:E3}, max |logit| {maxAbs:F4}");

        TestModelWriter.Write(dir.File("unscaled"), TestModelFormat.HuggingFace, scaled with { RopeScaling = TestRopeScaling.None });
        var (unscaledDiff, _) = LlamaCppOracle.Compare(LlamaCppOracle.FolioPromptLogits(dir.File("unscaled"), prompt), a);
        Assert.True(unscaledDiff > 1e-3 * maxAbs, $"the scaling should change the logits (max |diff| {unscaledDiff:E3})");
    }

    [Fact]
    public void An_unknown_gguf_rope_scaling_type_is_refused_naming_the_key_and_the_accepted_values()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions { Vocab = 300, RopeScaling = TestRopeScaling.Linear });
        // The writer's "linear" becomes "lineal": a type llama.cpp does not know either.
        var bytes = File.ReadAllBytes(path);
        var value = "linear"u8.ToArray();
        int at = bytes.AsSpan().IndexOf(value);
        Assert.True(at > 0);
        "lineal"u8.CopyTo(bytes.AsSpan(at));
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(path).Dispose());
        Assert.Contains("llama.rope.scaling.type \"lineal\"", e.Message);
        foreach (string accepted in GgufRopeScaling.AcceptedTypes)
        {
            Assert.Contains($"\"{accepted}\"", e.Message);
        }
    }

    [Fact]
    public void Phi3_gguf_projections_are_split_into_views_of_the_mapped_file()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions { Arch = TestArchitecture.Phi3, Vocab = 300, Heads = 4, KvHeads = 2, Dim = 64 });
        using var model = ModelLoader.Load(path);
        Assert.Equal("phi3", model.Config.Architecture);
        foreach (string part in new[] { "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight" })
        {
            Assert.True(model.Require("model.layers.1." + part).IsFileMapped, part);
        }

        Assert.False(model.Tensors.ContainsKey("model.layers.0.self_attn.qkv_proj.weight"));
        Assert.False(model.Tensors.ContainsKey("model.layers.0.mlp.gate_up_proj.weight"));
    }
}
