using System.Text;
using Folio.Models.Loading;
using Folio.Models;
using Folio.Testing;
using LLama.Common;
using LLama.Native;
using LLama;

using Folio.ModelTools;

namespace Folio.Models.Tests.Loading;

/// <summary>
/// llama.cpp (through LLamaSharp) is an oracle no one here wrote: it must load the GGUF files
/// make-test-model writes, read the same shape from their metadata, and compute the logits an
/// independent float64 forward pass computes from the Hugging Face-layout weights.
/// </summary>
public class LlamaCppAcceptsGgufTests
{
    private static ModelParams Params(string path) => new(path)
    {
        GpuLayerCount = 0,
        ContextSize = 32,
        BatchSize = 32,
        Threads = 1,
        FlashAttention = false,
        TypeK = GGMLType.GGML_TYPE_F32,
        TypeV = GGMLType.GGML_TYPE_F32,
    };

    public static TheoryData<TestModelOptions> Shapes => new()
    {
        new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, Seed = 21 },
        new TestModelOptions { Dim = 64, Layers = 1, Heads = 2, KvHeads = 1, Ffn = 64, Vocab = 280, Seed = 22, HeadDim = 48, Bias = true, Tied = true },
        new TestModelOptions { Dim = 96, Layers = 2, Heads = 3, KvHeads = 3, Ffn = 160, Vocab = 320, Seed = 23, Llama3Scaling = true, RopeTheta = 500000f },
        new TestModelOptions { Dim = 96, Layers = 2, Heads = 3, KvHeads = 1, Ffn = 160, Vocab = 320, Seed = 25, DType = DType.F16 },
        new TestModelOptions { Dim = 64, Layers = 1, Heads = 4, KvHeads = 4, Ffn = 128, Vocab = 300, Seed = 24, DType = DType.Q8_0 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Llama_cpp_loads_the_gguf_with_the_same_shape_and_matches_a_float64_reference_at_every_position(TestModelOptions o)
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var config = TestModelWriter.Config(o);
        var p = Params(path);

        using var weights = LLamaWeights.LoadFromFile(p);
        Assert.Equal(o.Vocab, weights.Vocab.Count);
        Assert.Equal(o.Dim, weights.EmbeddingSize);
        Assert.Equal(o.Layers, weights.NativeHandle.LayerCount);
        Assert.Equal(o.Heads, weights.NativeHandle.HeadCount);
        Assert.Equal(o.KvHeads, weights.NativeHandle.KVHeadCount);
        Assert.Equal("llama", weights.Metadata["general.architecture"]);

        // Several positions, so rope (the q/k permutation, rope_freqs for Llama 3 scaling), causal
        // attention and GQA all matter; the reference reads the Hugging Face-layout weights.
        int[] tokens = [77, 5, o.Vocab - 2, 120, 77, 3];
        using var context = weights.CreateContext(p);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Length; i++)
        {
            batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, true);
        }

        Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
        var expected = ReferenceForward.Run(config, QuantizedAsStored(o), tokens);
        for (int i = 0; i < tokens.Length; i++)
        {
            var actual = context.NativeHandle.GetLogitsIth(i).ToArray();
            double maxAbs = expected[i].Max(Math.Abs);
            double maxDiff = expected[i].Select((e, j) => Math.Abs(e - actual[j])).Max();
            // llama.cpp's CPU matmuls convert the activations to the weight type (f16, or q8_0 blocks) before
            // the dot product, so only f32 weights can meet issue 2's 1e-4 bound; the others get their own.
            double tolerance = o.DType switch { DType.F32 => 1e-4, DType.F16 => 2e-3, _ => 3e-2 };
            Assert.True(maxDiff <= tolerance * maxAbs, $"position {i}: max |diff| {maxDiff} vs max |logit| {maxAbs}");
        }
    }

    [Fact]
    public void Llama_cpp_reads_the_embedded_vocabulary_token_by_token()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        var o = new TestModelOptions { Vocab = 300, Seed = 5 };
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var spec = TestModelWriter.Tokenizer(o);
        using var weights = LLamaWeights.LoadFromFile(Params(path));
        Assert.Equal(spec.Tokens.Count, weights.Vocab.Count);
        // llama.cpp turns byte-level token strings back into bytes; byte 'A' (0x41) is its own symbol.
        int idA = spec.Tokens.ToList().IndexOf("A");
        Assert.True(idA >= 0);
        var tokens = weights.Tokenize("A", false, false, Encoding.UTF8);
        Assert.Equal([idA], tokens.Select(t => (int)t));
    }

    [Theory]
    [InlineData(TestTokenizerKind.ByteLevelBpe, 400)]
    [InlineData(TestTokenizerKind.SentencePiece, 500)]
    public void Llama_cpp_and_folio_tokenize_text_from_the_embedded_vocabulary_alike(TestTokenizerKind kind, int vocab)
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        var o = new TestModelOptions { Vocab = vocab, Seed = 6, Tokenizer = kind };
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        using var model = ModelLoader.Load(path);
        using var weights = LLamaWeights.LoadFromFile(Params(path));
        Assert.Equal(model.Tokenizer.VocabSize, weights.Vocab.Count);
        foreach (string text in new[] { "the quick brown fox", "Hello, world!\nSecond line  with  spaces", "naïve café 123" })
        {
            var theirs = weights.Tokenize(text, false, false, Encoding.UTF8).Select(t => (int)t).ToArray();
            var ours = model.Tokenizer.Encode(text, addSpecialTokens: false);
            Assert.Equal(theirs, ours);
        }
    }

    [Fact]
    public void A_gguf_written_by_llama_cpp_itself_loads_with_the_same_tensors_and_config()
    {
        using var dir = new TempDir();
        var o = new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, Seed = 41, Bias = true, DType = DType.Q8_0 };
        TestModelWriter.Write(dir.File("ours.gguf"), TestModelFormat.Gguf, o);
        using (var weights = LLamaWeights.LoadFromFile(Params(dir.File("ours.gguf"))))
        {
            // llama.cpp's own GGUF writer (llama_model_save_to_file): an independent producer for our reader.
            weights.NativeHandle.SaveToFile(dir.File("theirs.gguf"));
        }

        using var ours = ModelLoader.Load(dir.File("ours.gguf"));
        using var theirs = ModelLoader.Load(dir.File("theirs.gguf"));
        Assert.Equal(ours.Config.HiddenSize, theirs.Config.HiddenSize);
        Assert.Equal(ours.Config.NumKvHeads, theirs.Config.NumKvHeads);
        Assert.Equal(ours.Config.RopeStyle, theirs.Config.RopeStyle);
        Assert.Equal(ours.Config.AttentionBias, theirs.Config.AttentionBias);
        Assert.Equal(ours.Tokenizer.VocabSize, theirs.Tokenizer.VocabSize);
        foreach (var e in ModelTensorChecker.Expected(ours.Config))
        {
            var a = ours.Require(e.Name);
            var b = theirs.Require(e.Name);
            Assert.Equal(a.DType, b.DType);
            Assert.Equal(a.Shape, b.Shape);
            Assert.Equal(DTypeConversion.ToF32(a), DTypeConversion.ToF32(b));
        }
    }

    /// <summary>The weights as the GGUF holds them after encoding (so the reference sees the same rounding).</summary>
    private static Dictionary<string, float[]> QuantizedAsStored(TestModelOptions o)
    {
        var weights = TestModelWriter.Weights(o);
        foreach (var (name, values) in weights.ToList())
        {
            bool twoD = !name.EndsWith("norm.weight", StringComparison.Ordinal) && !name.EndsWith(".bias", StringComparison.Ordinal);
            if (twoD && o.DType != DType.F32)
            {
                var back = new float[values.Length];
                DTypeConversion.Decode(o.DType, DTypeConversion.Encode(values, o.DType), back);
                weights[name] = back;
            }
        }

        return weights;
    }
}
