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

/// <summary>Which decoder family a test model is (the `--arch` of make-test-model).</summary>
public enum TestArchitecture
{
    /// <summary>Llama (GGUF "llama", q/k rows permuted for interleaved rope).</summary>
    Llama,

    /// <summary>Qwen3: per-head RMSNorm on q and k before rope, no biases (GGUF "qwen3", NEOX rope).</summary>
    Qwen3,

    /// <summary>Qwen3-MoE: Qwen3 attention, every MLP a sparse mixture of experts (GGUF "qwen3moe").</summary>
    Qwen3Moe,

    /// <summary>Gemma 2: GeGLU, (1 + w) norms, scaled embeddings, four norms a layer, soft-capping, local/global layers alternating.</summary>
    Gemma2,

    /// <summary>Gemma 3: as Gemma 2 without soft-capping, with q/k norms, five local layers per global one and a local rope base.</summary>
    Gemma3,

    /// <summary>Phi-3: fused qkv_proj and gate_up_proj (GGUF "phi3": attn_qkv, ffn_up with gate and up), NEOX rope, optionally partial rotary and LongRoPE.</summary>
    Phi3,

    /// <summary>Qwen2-MoE: Qwen2 attention (q/k/v biases), sparse MLPs with a shared expert gated by sigmoid (GGUF "qwen2moe"); top-k weights never renormalised, as llama.cpp's graph.</summary>
    Qwen2Moe,

    /// <summary>Mistral: the Llama decoder with a sliding window on every layer (Hugging Face "MistralForCausalLM"; GGUF "llama" with llama.attention.sliding_window).</summary>
    Mistral,
}

/// <summary>A rope scaling for test models (the `--rope-scaling` of make-test-model); Llama 3's has its own switch.</summary>
public enum TestRopeScaling
{
    None,

    /// <summary>Position interpolation: frequencies divided by the factor.</summary>
    Linear,

    /// <summary>YaRN with beta 32/1 and its default attention factor (0.1 ln factor + 1).</summary>
    Yarn,

    /// <summary>Dynamic NTK (Hugging Face only: llama.cpp has none).</summary>
    Dynamic,

    /// <summary>LongRoPE (Phi-3 only): per-frequency short and long factors and the attention factor sqrt(1 + ln(max/original) / ln(original)).</summary>
    LongRope,
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
    public TestArchitecture Arch { get; init; } = TestArchitecture.Llama;
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

    /// <summary>Rope scaling other than Llama 3's, with <see cref="RopeScalingFactor"/> and <see cref="OriginalContext"/>.</summary>
    public TestRopeScaling RopeScaling { get; init; }

    public float RopeScalingFactor { get; init; } = 4f;

    /// <summary>The scalings' original_max_position_embeddings (small, so short prompts run past it).</summary>
    public int OriginalContext { get; init; } = 16;

    /// <summary>Phi-3's partial_rotary_factor: the share of each head rope rotates.</summary>
    public float PartialRotary { get; init; } = 1f;

    /// <summary>Number of safetensors files (Hugging Face format only); more than 1 adds model.safetensors.index.json.</summary>
    public int Shards { get; init; } = 1;
    public int MaxPositions { get; init; } = 2048;
    public float RmsNormEps { get; init; } = 1e-5f;

    /// <summary>Experts per layer (0: dense MLP). With --arch llama this is Mixtral (Hugging Face MixtralForCausalLM; GGUF llama with experts).</summary>
    public int Experts { get; init; }

    public int ExpertsPerToken { get; init; } = 2;

    /// <summary>Qwen2-MoE: the shared expert's intermediate size (0: twice <see cref="Ffn"/>).</summary>
    public int SharedExpertFfn { get; init; }

    /// <summary>Qwen3-MoE: layers whose MLP is dense, of <see cref="Ffn"/> (mlp_only_layers; in GGUF, ffn_gate/up/down instead of the expert stacks).</summary>
    public int[] DenseLayers { get; init; } = [];

    /// <summary>Qwen3-MoE's norm_topk_prob (llama.cpp always renormalises, so GGUF oracles need true).</summary>
    public bool NormTopK { get; init; } = true;

    /// <summary>Gemma and Mistral: the sliding window of local layers (small, so short test prompts cross it).</summary>
    public int SlidingWindow { get; init; } = 8;

    /// <summary>Gemma: every n-th layer is global; null for the family's own (Gemma 2: 2, Gemma 3: 6).</summary>
    public int? SlidingWindowPattern { get; init; }

    /// <summary>Gemma 2: attn_logit_softcapping and final_logit_softcapping (Gemma 2's own are 50 and 30; smaller ones make tiny models' logits feel the cap).</summary>
    public float AttentionSoftcap { get; init; } = 50f;

    public float FinalSoftcap { get; init; } = 30f;

    /// <summary>Gemma 3: the rope base of local layers (rope_local_base_freq; llama.cpp's default is 10000).</summary>
    public float RopeLocalTheta { get; init; } = 10000f;
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
        bool gemma = o.Arch is TestArchitecture.Gemma2 or TestArchitecture.Gemma3;
        if (o.Experts > 0 && o.Arch is not (TestArchitecture.Llama or TestArchitecture.Qwen3Moe or TestArchitecture.Qwen2Moe))
        {
            throw new ArgumentException($"experts apply to llama (Mixtral-style), qwen2moe and qwen3moe test models, not {o.Arch}");
        }

        bool qwenMoe = o.Arch is TestArchitecture.Qwen3Moe or TestArchitecture.Qwen2Moe;
        bool qwen2Moe = o.Arch == TestArchitecture.Qwen2Moe;

        if (o.Arch != TestArchitecture.Llama && (o.Llama3Scaling || (gemma && o.Bias)))
        {
            throw new ArgumentException($"{o.Arch} test models take no {(o.Llama3Scaling ? "Llama 3 rope scaling" : "q/k/v biases")}");
        }

        if ((o.RopeScaling == TestRopeScaling.LongRope || o.PartialRotary != 1f) && o.Arch != TestArchitecture.Phi3)
        {
            throw new ArgumentException($"LongRoPE and partial rotary test models are Phi-3 (--arch phi3), not {o.Arch}");
        }

        if (o.Llama3Scaling && o.RopeScaling != TestRopeScaling.None)
        {
            throw new ArgumentException("a test model takes one rope scaling: Llama 3's or --rope-scaling");
        }

        int headDim = o.HeadDim ?? (o.Heads > 0 ? o.Dim / o.Heads : 0);
        int rotaryDim = (int)(headDim * o.PartialRotary);
        var config = new ModelConfig
        {
            Architecture = o.Arch switch
            {
                TestArchitecture.Qwen3 => "Qwen3ForCausalLM",
                TestArchitecture.Qwen3Moe => "Qwen3MoeForCausalLM",
                TestArchitecture.Qwen2Moe => "Qwen2MoeForCausalLM",
                TestArchitecture.Gemma2 => "Gemma2ForCausalLM",
                TestArchitecture.Gemma3 => "Gemma3ForCausalLM",
                TestArchitecture.Phi3 => "Phi3ForCausalLM",
                TestArchitecture.Mistral => "MistralForCausalLM",
                // llama with experts: Mixtral (its Hugging Face layout; GGUF "llama" with expert tensors, as llama.cpp converts it).
                _ => o.Experts > 0 ? "MixtralForCausalLM" : "LlamaForCausalLM",
            },
            HiddenSize = o.Dim,
            NumLayers = o.Layers,
            NumHeads = o.Heads,
            NumKvHeads = o.KvHeads,
            HeadDim = headDim,
            IntermediateSize = o.Ffn,
            VocabSize = o.Vocab,
            MaxPositionEmbeddings = o.MaxPositions,
            RmsNormEps = o.RmsNormEps,
            RopeTheta = o.RopeTheta,
            RopeScaling = o.Llama3Scaling ? new Llama3RopeScaling(8f, 1f, 4f, 64) : Scaling(o, rotaryDim),
            RotaryDimensions = rotaryDim == headDim ? null : rotaryDim,
            RopeStyle = RopeStyle.RotateHalf,
            // Gemma always ties its lm_head to the embedding (llama.cpp's gemma2 reads no output tensor).
            TieWordEmbeddings = o.Tied || gemma,
            AttentionBias = o.Bias || qwen2Moe,
            QkNorm = o.Arch is TestArchitecture.Qwen3 or TestArchitecture.Qwen3Moe or TestArchitecture.Gemma3,
            NumExperts = qwenMoe && o.Experts == 0 ? 4 : o.Experts,
            NumExpertsPerToken = o.ExpertsPerToken,
            ExpertIntermediateSize = o.Experts > 0 || qwenMoe ? o.Ffn : 0,
            NormTopKProb = !qwen2Moe && o.NormTopK,
            SharedExpertIntermediateSize = qwen2Moe ? (o.SharedExpertFfn > 0 ? o.SharedExpertFfn : 2 * o.Ffn) : 0,
            DenseMlpLayers = o.DenseLayers,
            NormWeightOffset = gemma ? 1f : 0f,
            Activation = gemma ? MlpActivation.GeluTanh : MlpActivation.Silu,
            EmbeddingScale = gemma ? MathF.Sqrt(o.Dim) : 1f,
            SandwichNorms = gemma,
            AttentionLogitSoftcap = o.Arch == TestArchitecture.Gemma2 ? o.AttentionSoftcap : null,
            FinalLogitSoftcap = o.Arch == TestArchitecture.Gemma2 ? o.FinalSoftcap : null,
            // query_pre_attn_scalar = head_dim: what llama.cpp assumes for every Gemma but the 27B.
            AttentionScale = gemma ? 1f / MathF.Sqrt(headDim) : null,
            SlidingWindow = gemma || o.Arch == TestArchitecture.Mistral ? o.SlidingWindow : null,
            SlidingWindowPattern = o.SlidingWindowPattern ?? o.Arch switch { TestArchitecture.Gemma2 => 2, TestArchitecture.Gemma3 => 6, _ => 1 },
            RopeLocalTheta = o.Arch == TestArchitecture.Gemma3 ? o.RopeLocalTheta : null,
            BosTokenId = spec.BosTokenId,
            EosTokenIds = spec.EosTokenIds,
        };
        config.Validate("test model options");
        return config;
    }

    /// <summary>
    /// The rope scaling the options name. LongRoPE's factors are fixed ramps (short 1 to 1.5, long 1 to
    /// 4 x factor), distinct per frequency so that a wrong index or set shows in the logits.
    /// </summary>
    private static RotaryScaling? Scaling(TestModelOptions o, int rotaryDim)
    {
        int half = rotaryDim / 2;
        float Ramp(int i, float top) => 1f + ((top - 1f) * i / Math.Max(1, half - 1));
        return o.RopeScaling switch
        {
            TestRopeScaling.Linear => new LinearRopeScaling(o.RopeScalingFactor),
            TestRopeScaling.Yarn => new YarnRopeScaling(o.RopeScalingFactor, o.OriginalContext, 32f, 1f, YarnRopeScaling.DefaultAttentionFactor(o.RopeScalingFactor)),
            TestRopeScaling.Dynamic => new DynamicNtkRopeScaling(o.RopeScalingFactor, o.MaxPositions),
            TestRopeScaling.LongRope => new LongRopeScaling(
                Enumerable.Range(0, half).Select(i => Ramp(i, 1.5f)).ToArray(),
                Enumerable.Range(0, half).Select(i => Ramp(i, 4f * o.RopeScalingFactor)).ToArray(),
                o.OriginalContext,
                LongRopeScaling.DefaultAttentionFactor((double)o.MaxPositions / o.OriginalContext, o.OriginalContext)),
            _ => null,
        };
    }

    /// <summary>The synthetic vocabulary of exactly <see cref="TestModelOptions.Vocab"/> tokens.</summary>
    public static TokenizerSpec Tokenizer(TestModelOptions o) => o.Tokenizer == TestTokenizerKind.SentencePiece
        ? SyntheticTokenizers.SentencePieceBpe(o.Vocab)
        : SyntheticTokenizers.ByteLevelBpe(o.Vocab);

    /// <summary>
    /// The f32 weights by canonical name, Hugging Face layout, with norm weights as the math applies
    /// them: what both formats store, except that a Gemma Hugging Face folder stores its norms minus
    /// 1 (Gemma applies 1 + w).
    /// </summary>
    public static Dictionary<string, float[]> Weights(TestModelOptions o)
    {
        var config = Config(o);
        var weights = LlamaWeightInit.Generate(config, o.Seed, noisyNorms: true);
        if (config.EmbeddingScale != 1f)
        {
            // Gemma multiplies embeddings by sqrt(hidden): with random tied embeddings the token's own
            // row would then outweigh every layer and greedy decoding would only repeat the last token.
            // Shrinking the table by hidden^(1/4) keeps the layers audible and the logits near unit size.
            float shrink = 1f / MathF.Sqrt(MathF.Sqrt(config.HiddenSize));
            weights["model.embed_tokens.weight"] = weights["model.embed_tokens.weight"].Select(v => v * shrink).ToArray();
        }

        return weights;
    }

    /// <summary>Writes the model to <paramref name="path"/> (a folder for HuggingFace, a file for Gguf).</summary>
    public static void Write(string path, TestModelFormat format, TestModelOptions o)
    {
        var config = Config(o);
        var spec = Tokenizer(o);
        var weights = Weights(o);
        switch (format)
        {
            case TestModelFormat.HuggingFace:
                HuggingFaceWriter.Write(path, config, spec, StoredNorms(weights, -config.NormWeightOffset), o.DType, o.Shards);
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

                // llama.cpp's converter stores Gemma's norms as 1 + w, so the GGUF carries the applied values.
                GgufModelWriter.Write(path, config with { NormWeightOffset = 0f }, spec, weights, o.DType, $"folio-test-{o.Dim}x{o.Layers}-seed{o.Seed}");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
    }

    /// <summary>The weights with <paramref name="offset"/> added to every norm weight (a copy; the rest shared).</summary>
    private static Dictionary<string, float[]> StoredNorms(Dictionary<string, float[]> weights, float offset)
    {
        if (offset == 0f)
        {
            return weights;
        }

        var stored = new Dictionary<string, float[]>(weights, StringComparer.Ordinal);
        foreach (var (name, values) in weights)
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                stored[name] = values.Select(v => v + offset).ToArray();
            }
        }

        return stored;
    }
}
