using Folio.Cpu.Tests.Support;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;

namespace Folio.Cpu.Tests.Oracle;

/// <summary>
/// Qwen3, Gemma 2 and Gemma 3 on Folio's CPU runner against llama.cpp on GGUF files from
/// make-test-model's writer (llama.cpp reads them with its own qwen3/gemma2/gemma3 graphs): logits
/// at every prompt position within 1e-4 of the largest |logit|, and the same 32-token greedy
/// continuation. Prompts of 24 tokens plus 32 generated cross the Gemma shapes' sliding window of 8
/// on every local layer, so the window, soft-caps, q/k norms, (1 + w) norms, GeGLU and Gemma 3's
/// local rope base all reach the logits. The same weights as a Hugging Face folder must give the
/// same logits as the GGUF (name mapping, norm offsets and q/k layout on both paths).
/// </summary>
public sealed class ArchitectureOracleTests
{
    private const int PromptLength = 24;
    private const int Continuation = 32;

    public static TheoryData<string> GemmaShapes => new(["gemma2-gqa-hd64", "gemma2-mqa-hd256", "gemma3-local-global", "gemma3-6-layers"]);

    public static TheoryData<string> Shapes => new(["qwen3-gqa-hd64", "qwen3-tied-hd128", "gemma2-gqa-hd64", "gemma2-mqa-hd256", "gemma3-local-global", .. MoeShapes, .. Phi3Shapes, .. RopeScalingShapes]);

    /// <summary>
    /// Phi-3: fused qkv and gate/up; partial rotary; LongRoPE with the long factors (an original context
    /// of 16, so llama.cpp's context of 128 and Folio's 2048 both pick them, and the attention factor is
    /// sqrt(1 + ln 128 / ln 16)) and with the short ones (original context = the model's, factor 1).
    /// </summary>
    private static readonly string[] Phi3Shapes = ["phi3-gqa-hd64", "phi3-partial-rotary", "phi3-longrope-long", "phi3-longrope-short", "phi3-longrope-partial", "phi3-6-layers"];

    /// <summary>Linear and YaRN scaling with an original context of 16: the 24-token prompt and its continuation run well past it.</summary>
    private static readonly string[] RopeScalingShapes = ["llama-linear", "llama-yarn", "qwen3-yarn"];

    /// <summary>Mixtral-style (llama with experts), Qwen3-MoE and Qwen2-MoE (a shared expert): 2-8 experts, top-1/2/4.</summary>
    private static readonly string[] MoeShapes = ["mixtral-8-experts-top2", "mixtral-2-experts-top1", "qwen3moe-6-experts-top4", "qwen3moe-4-experts-top2", "qwen2moe-4-experts-top2-shared"];

    /// <summary>
    /// Shapes both writers can write: Mixtral as MixtralForCausalLM (block_sparse_moe.*) and as GGUF
    /// llama with experts; Qwen3-MoE with dense layers between sparse ones (mlp_only_layers; GGUF
    /// ffn_gate/up/down there), which llama.cpp's qwen3moe does not load, so it has no oracle row.
    /// </summary>
    public static TheoryData<string> BothFormatShapes => new(["qwen3-gqa-hd64", "qwen3-tied-hd128", "gemma2-gqa-hd64", "gemma2-mqa-hd256", "gemma3-local-global", .. MoeShapes, "qwen3moe-dense-layers", .. Phi3Shapes, .. RopeScalingShapes]);

    private static TestModelOptions Shape(string name) => name switch
    {
        // q width (4 x 64) differs from hidden (128): o_proj and the norms see the real shapes.
        "qwen3-gqa-hd64" => new TestModelOptions { Arch = TestArchitecture.Qwen3, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 64, Ffn = 192, Vocab = 300, Seed = 51, RopeTheta = 1000000f, RmsNormEps = 1e-6f },
        "qwen3-tied-hd128" => new TestModelOptions { Arch = TestArchitecture.Qwen3, Dim = 128, Layers = 2, Heads = 2, KvHeads = 1, HeadDim = 128, Ffn = 256, Vocab = 320, Seed = 52, Tied = true },
        // Small caps so the tiny model's scores and logits feel the tanh.
        "gemma2-gqa-hd64" => new TestModelOptions { Arch = TestArchitecture.Gemma2, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 64, Ffn = 192, Vocab = 300, Seed = 53, SlidingWindow = 8, AttentionSoftcap = 0.5f, FinalSoftcap = 4f, RmsNormEps = 1e-6f },
        "gemma2-mqa-hd256" => new TestModelOptions { Arch = TestArchitecture.Gemma2, Dim = 128, Layers = 2, Heads = 4, KvHeads = 1, HeadDim = 256, Ffn = 256, Vocab = 280, Seed = 55, SlidingWindow = 8, AttentionSoftcap = 0.5f, FinalSoftcap = 4f },
        // sliding_window_pattern 2 (written to the GGUF; llama.cpp reads it): a local layer with rope base 10000, a global one with 1e6.
        "gemma3-local-global" => new TestModelOptions { Arch = TestArchitecture.Gemma3, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 64, Ffn = 256, Vocab = 300, Seed = 54, SlidingWindow = 8, SlidingWindowPattern = 2, RopeTheta = 1000000f, RopeLocalTheta = 10000f, RmsNormEps = 1e-6f },
        // Gemma 3's own pattern: five local layers, then a global one.
        "gemma3-6-layers" => new TestModelOptions { Arch = TestArchitecture.Gemma3, Dim = 64, Layers = 6, Heads = 4, KvHeads = 1, HeadDim = 64, Ffn = 128, Vocab = 300, Seed = 54, SlidingWindow = 8, RopeTheta = 1000000f, RopeLocalTheta = 10000f, RmsNormEps = 1e-6f },
        "mixtral-8-experts-top2" => new TestModelOptions { Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, Seed = 56, Experts = 8, ExpertsPerToken = 2 },
        "mixtral-2-experts-top1" => new TestModelOptions { Dim = 128, Layers = 2, Heads = 2, KvHeads = 1, Ffn = 128, Vocab = 300, Seed = 57, Experts = 2, ExpertsPerToken = 1 },
        "qwen3moe-6-experts-top4" => new TestModelOptions { Arch = TestArchitecture.Qwen3Moe, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 64, Ffn = 64, Vocab = 300, Seed = 58, Experts = 6, ExpertsPerToken = 4 },
        "qwen3moe-4-experts-top2" => new TestModelOptions { Arch = TestArchitecture.Qwen3Moe, Dim = 128, Layers = 2, Heads = 2, KvHeads = 1, HeadDim = 128, Ffn = 96, Vocab = 300, Seed = 59, Experts = 4, ExpertsPerToken = 2 },
        "qwen2moe-4-experts-top2-shared" => new TestModelOptions { Arch = TestArchitecture.Qwen2Moe, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 64, SharedExpertFfn = 96, Vocab = 300, Seed = 61, Experts = 4, ExpertsPerToken = 2 },
        "qwen3moe-dense-layers" => new TestModelOptions { Arch = TestArchitecture.Qwen3Moe, Dim = 64, Layers = 4, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 96, Vocab = 300, Seed = 60, Experts = 4, ExpertsPerToken = 2, DenseLayers = [0, 2] },
        // llama.cpp's phi3 graph needs q width = hidden (its attn_output is [hidden, hidden]).
        "phi3-gqa-hd64" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 128, Layers = 2, Heads = 2, KvHeads = 1, Ffn = 192, Vocab = 300, Seed = 71 },
        "phi3-partial-rotary" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 160, Vocab = 300, Seed = 72, PartialRotary = 0.5f },
        "phi3-longrope-long" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 128, Layers = 2, Heads = 2, KvHeads = 2, Ffn = 128, Vocab = 300, Seed = 73, RopeScaling = TestRopeScaling.LongRope, OriginalContext = 16, MaxPositions = 2048 },
        "phi3-longrope-short" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 128, Layers = 2, Heads = 2, KvHeads = 1, Ffn = 128, Vocab = 300, Seed = 74, RopeScaling = TestRopeScaling.LongRope, OriginalContext = 2048, MaxPositions = 2048 },
        "phi3-longrope-partial" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 128, Vocab = 300, Seed = 75, RopeScaling = TestRopeScaling.LongRope, OriginalContext = 16, PartialRotary = 0.75f },
        "phi3-6-layers" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 64, Layers = 6, Heads = 2, KvHeads = 1, Ffn = 128, Vocab = 300, Seed = 79, RopeScaling = TestRopeScaling.LongRope, OriginalContext = 16, PartialRotary = 0.75f },
        "llama-linear" => new TestModelOptions { Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 192, Vocab = 300, Seed = 76, RopeScaling = TestRopeScaling.Linear, RopeScalingFactor = 4f },
        "llama-yarn" => new TestModelOptions { Dim = 128, Layers = 2, Heads = 2, KvHeads = 1, Ffn = 192, Vocab = 300, Seed = 77, RopeScaling = TestRopeScaling.Yarn, RopeScalingFactor = 4f, OriginalContext = 16 },
        "qwen3-yarn" => new TestModelOptions { Arch = TestArchitecture.Qwen3, Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 64, Ffn = 192, Vocab = 300, Seed = 78, RopeTheta = 1000000f, RopeScaling = TestRopeScaling.Yarn, RopeScalingFactor = 8f, OriginalContext = 16 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Logits_at_every_prompt_position_match_llama_cpp_within_1e4_of_the_largest(string shape)
    {
        var o = Shape(shape);
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var prompt = LlamaCppOracle.Prompt(o.Vocab, PromptLength);

        // Gemma's GeGLU: llama.cpp's CPU gelu goes through an f16 table; Folio computes it in f32 (as
        // transformers does) and emulates the table only here, so that 1e-4 checks everything else.
        var folio = LlamaCppOracle.FolioPromptLogits(path, prompt, ggmlGelu: IsGemma(o));
        var llama = LlamaCppOracle.LlamaPromptLogits(path, prompt, o.Vocab);
        var (maxDiff, maxAbs) = LlamaCppOracle.Compare(llama, folio);

        Assert.True(maxAbs > 0.1, $"{shape}: degenerate logits (max |logit| {maxAbs})");
        Assert.True(maxDiff <= 1e-4 * maxAbs, $"{shape}: max |logit diff| {maxDiff:E3} > 1e-4 x max |logit| {maxAbs:F4}");
    }

    [Theory]
    [MemberData(nameof(GemmaShapes))]
    public void Gemma_logits_with_f32_gelu_differ_from_llama_cpp_only_by_its_f16_gelu_table(string shape)
    {
        var o = Shape(shape);
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var prompt = LlamaCppOracle.Prompt(o.Vocab, PromptLength);

        var exact = LlamaCppOracle.FolioPromptLogits(path, prompt);
        var emulated = LlamaCppOracle.FolioPromptLogits(path, prompt, ggmlGelu: true);
        var llama = LlamaCppOracle.LlamaPromptLogits(path, prompt, o.Vocab);
        var (exactDiff, maxAbs) = LlamaCppOracle.Compare(llama, exact);
        var (emulatedDiff, _) = LlamaCppOracle.Compare(llama, emulated);

        // The f16 table's rounding (about 5e-4 relative per activation) is the whole gap: without it the
        // logits are 1e-4 close, with f32 gelu they stay within 2e-3 and are further from llama.cpp.
        Assert.True(exactDiff <= 2e-3 * maxAbs, $"{shape}: f32 gelu max |diff| {exactDiff:E3}, max |logit| {maxAbs:F4}");
        Assert.True(emulatedDiff < exactDiff, $"{shape}: emulating the f16 table should bring Folio closer ({emulatedDiff:E3} vs {exactDiff:E3})");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Greedy_continuation_of_32_tokens_is_the_same_as_llama_cpps(string shape)
    {
        var o = Shape(shape);
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, o);
        var prompt = LlamaCppOracle.Prompt(o.Vocab, PromptLength);

        var (folio, gap) = LlamaCppOracle.FolioGreedy(path, prompt, Continuation);
        var llama = LlamaCppOracle.LlamaGreedy(path, prompt, Continuation);

        Assert.True(folio.Distinct().Count() > 1, $"{shape}: a degenerate continuation [{string.Join(", ", folio)}] proves little");
        Assert.True(folio.SequenceEqual(llama), $"{shape}: folio [{string.Join(", ", folio)}] vs llama.cpp [{string.Join(", ", llama)}]; smallest top-2 gap on Folio's side {gap:E2}");
    }

    private static bool IsGemma(TestModelOptions o) => o.Arch is TestArchitecture.Gemma2 or TestArchitecture.Gemma3;

    [Theory]
    [MemberData(nameof(BothFormatShapes))]
    public void The_same_weights_as_a_hugging_face_folder_and_as_gguf_give_the_same_logits(string shape)
    {
        var o = Shape(shape);
        using var dir = new TempDir();
        string gguf = dir.File("m.gguf");
        string hf = dir.File("hf");
        TestModelWriter.Write(gguf, TestModelFormat.Gguf, o);
        TestModelWriter.Write(hf, TestModelFormat.HuggingFace, o);
        var tokens = LlamaCppOracle.Prompt(o.Vocab + 1, 40);

        using (var fromHf = ModelLoader.Load(hf))
        using (var fromGguf = ModelLoader.Load(gguf))
        {
            // Both paths must arrive at the same math (the HF folder with 1 + w norms, the GGUF with w stored as 1 + w;
            // a llama GGUF's q/k rows are permuted for interleaved rope, which the logits below check).
            Assert.Equal(fromGguf.Config with { Architecture = "", NormWeightOffset = 0, EosTokenIds = [], BosTokenId = null, MaxPositionEmbeddings = 0, RopeStyle = RopeStyle.RotateHalf, DenseMlpLayers = [] }, fromHf.Config with { Architecture = "", NormWeightOffset = 0, EosTokenIds = [], BosTokenId = null, MaxPositionEmbeddings = 0, RopeStyle = RopeStyle.RotateHalf, DenseMlpLayers = [] });
            Assert.Equal(fromHf.Config.DenseMlpLayers, fromGguf.Config.DenseMlpLayers);
            Assert.Equal(o.DenseLayers, fromHf.Config.DenseMlpLayers);
        }

        var a = LlamaCppOracle.FolioPromptLogits(hf, tokens);
        var b = LlamaCppOracle.FolioPromptLogits(gguf, tokens);
        var (maxDiff, maxAbs) = LlamaCppOracle.Compare(a, b);
        Assert.True(maxAbs > 0.1, $"{shape}: degenerate logits");
        Assert.True(maxDiff <= 1e-5 * maxAbs, $"{shape}: max |diff| {maxDiff:E3} between formats, max |logit| {maxAbs:F4}");
    }
}
