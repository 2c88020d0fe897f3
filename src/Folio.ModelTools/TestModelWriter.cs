using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.ModelTools;

/// <summary>The synthetic vocabulary a test model carries.</summary>
public enum TestTokenizerKind
{
    /// <summary>GGUF "gpt2": byte-level BPE (as GPT-2, Llama 3, Qwen2), no BOS added.</summary>
    ByteLevelBpe,

    /// <summary>GGUF "llama": SentencePiece-style BPE with byte fallback (as Llama 2, Mistral, TinyLlama), BOS added.</summary>
    SentencePiece,
}

public enum TestModelFormat
{
    /// <summary>A Hugging Face folder: config.json, safetensors (optionally sharded), tokenizer.json.</summary>
    HuggingFace,

    /// <summary>One llama.cpp-loadable GGUF file.</summary>
    Gguf,
}

/// <summary>
/// The shape and storage of a synthetic test model (the options of `folio make-test-model`).
/// Defaults give a tiny model that loads in milliseconds.
/// </summary>
public sealed record TestModelOptions
{
    public int Dim { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int Ffn { get; init; } = 128;
    public int Vocab { get; init; } = 512;

    /// <summary>Which synthetic vocabulary of exactly <see cref="Vocab"/> tokens the model carries.</summary>
    public TestTokenizerKind Tokenizer { get; init; } = TestTokenizerKind.ByteLevelBpe;

    /// <summary>Per-head size; null means Dim / Heads.</summary>
    public int? HeadDim { get; init; }
    public float RopeTheta { get; init; } = 10000f;
    public ulong Seed { get; init; } = 1;

    /// <summary>Storage of 2-D weights (GGUF keeps 1-D tensors in f32, as llama.cpp's converter does). Q8_0 only for GGUF.</summary>
    public DType DType { get; init; } = DType.F32;

    /// <summary>q/k/v biases (as Qwen2 has).</summary>
    public bool Bias { get; init; }

    /// <summary>lm_head shares the embedding matrix.</summary>
    public bool Tied { get; init; }

    /// <summary>Llama 3 rope scaling with factor 8, low/high frequency factors 1 and 4 and an original context of 64 positions (small, so that short test prompts cross every regime).</summary>
    public bool Llama3Scaling { get; init; }

    /// <summary>Number of safetensors files (Hugging Face format only); more than 1 adds model.safetensors.index.json.</summary>
    public int Shards { get; init; } = 1;
    public int MaxPositions { get; init; } = 2048;
    public float RmsNormEps { get; init; } = 1e-5f;
}

/// <summary>
/// Deterministic synthetic Llama models for tests and benchmarks. The same options (seed included)
/// give the same f32 weights in both formats: the Hugging Face folder stores them as they are, the
/// GGUF with q/k rows permuted as llama.cpp's converter does, so the two must give the same logits.
/// <code>
/// var opts = new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 128, Vocab = 300, Seed = 7 };
/// TestModelWriter.Write(dir + "/hf", TestModelFormat.HuggingFace, opts);
/// TestModelWriter.Write(dir + "/m.gguf", TestModelFormat.Gguf, opts);
/// using var hf = ModelLoader.Load(dir + "/hf");   // RopeStyle.RotateHalf
/// using var gg = ModelLoader.Load(dir + "/m.gguf"); // RopeStyle.Interleaved, same math
/// </code>
/// </summary>
public static class TestModelWriter
{
    /// <summary>The configuration the options describe (Hugging Face layout, RotateHalf).</summary>
    public static ModelConfig Config(TestModelOptions o)
    {
        var spec = Tokenizer(o);
        var config = new ModelConfig
        {
            Architecture = "LlamaForCausalLM",
            HiddenSize = o.Dim,
            NumLayers = o.Layers,
            NumHeads = o.Heads,
            NumKvHeads = o.KvHeads,
            HeadDim = o.HeadDim ?? (o.Heads > 0 ? o.Dim / o.Heads : 0),
            IntermediateSize = o.Ffn,
            VocabSize = o.Vocab,
            MaxPositionEmbeddings = o.MaxPositions,
            RmsNormEps = o.RmsNormEps,
            RopeTheta = o.RopeTheta,
            RopeScaling = o.Llama3Scaling ? new Llama3RopeScaling(8f, 1f, 4f, 64) : null,
            RopeStyle = RopeStyle.RotateHalf,
            TieWordEmbeddings = o.Tied,
            AttentionBias = o.Bias,
            BosTokenId = spec.BosTokenId,
            EosTokenIds = spec.EosTokenIds,
        };
        config.Validate("test model options");
        return config;
    }

    /// <summary>The synthetic vocabulary of exactly <see cref="TestModelOptions.Vocab"/> tokens.</summary>
    public static TokenizerSpec Tokenizer(TestModelOptions o) => o.Tokenizer == TestTokenizerKind.SentencePiece
        ? SyntheticTokenizers.SentencePieceBpe(o.Vocab)
        : SyntheticTokenizers.ByteLevelBpe(o.Vocab);

    /// <summary>The f32 weights by canonical name, Hugging Face layout: what both formats store.</summary>
    public static Dictionary<string, float[]> Weights(TestModelOptions o) => LlamaWeightInit.Generate(Config(o), o.Seed, noisyNorms: true);

    /// <summary>Writes the model to <paramref name="path"/> (a folder for HuggingFace, a file for Gguf).</summary>
    public static void Write(string path, TestModelFormat format, TestModelOptions o)
    {
        var config = Config(o);
        var spec = Tokenizer(o);
        var weights = LlamaWeightInit.Generate(config, o.Seed, noisyNorms: true);
        switch (format)
        {
            case TestModelFormat.HuggingFace:
                HuggingFaceWriter.Write(path, config, spec, weights, o.DType, o.Shards);
                break;
            case TestModelFormat.Gguf:
                if (o.Shards != 1)
                {
                    throw new ArgumentException("shards apply to the Hugging Face format only");
                }

                string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
                if (dir is not null)
                {
                    Directory.CreateDirectory(dir);
                }

                GgufModelWriter.Write(path, config, spec, weights, o.DType, $"folio-test-{o.Dim}x{o.Layers}-seed{o.Seed}");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
    }
}
