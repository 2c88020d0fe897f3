using Folio.Cpu.Tests.Support;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Folio.Cpu.Tests.Oracle;

/// <summary>
/// Quantized GGUF files made by llama.cpp's own quantizer from f32 test models of several shapes,
/// read by Folio and by llama.cpp (LLamaSharp, flash attention off, f32 K/V).
///
/// Both engines multiply quantized weights by activations quantized to int8 per row and block, so
/// neither reproduces exact arithmetic: the noise int8 activations add is measured on each model as
/// δ = max |Folio int8 logits - Folio logits with the weights converted to f32 (exact activations)|.
/// Folio mirrors llama.cpp's activation formats, so wherever the f32 inputs of a quantization agree
/// to the last bit the two engines agree to float rounding (checked: most single-token logits within
/// 1e-4 of the largest). Where an input differs in its last bit (the engines add in different
/// orders), a value can round to the neighbouring int8 step in one engine and not the other; such a
/// flip moves the logits by up to a quantization step's effect and carries to every later position.
/// So the tolerance for whole prompts is 2δ: each engine lies within about δ of the exact result.
/// Greedy tokens must be the same wherever llama.cpp's top-2 margin exceeds that 2δ (not a near-tie).
/// </summary>
public sealed class QuantizedLlamaCppOracleTests
{
    private const int PromptLength = 24;
    private const int Continuation = 32;
    private const int ScannedTokens = 100;

    public static readonly string[] Mixes = ["Q4_K_M", "Q5_K_M", "Q3_K_M", "Q2_K", "Q6_K", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string shape in (string[])["gqa-hd64", "tied-hd128", "rows-of-320"])
        {
            foreach (string mix in Mixes)
            {
                data.Add(shape, mix);
            }
        }

        // Phi-3's fused attn_qkv and ffn_up, quantized whole by llama.cpp, are split into row views of the quantized blocks.
        data.Add("phi3-hd64", "Q4_K_M");
        data.Add("phi3-hd64", "Q8_0");
        return data;
    }

    /// <summary>Row lengths of 256 and 512 take every k-quant; 320 is not a whole number of 256-value super-blocks, so llama.cpp's mixes fall back to 32-value types there.</summary>
    private static TestModelOptions Shape(string name) => name switch
    {
        "gqa-hd64" => new TestModelOptions { Dim = 256, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 512, Vocab = 300, Seed = 71 },
        "tied-hd128" => new TestModelOptions { Dim = 512, Layers = 2, Heads = 4, KvHeads = 1, Ffn = 768, Vocab = 320, Seed = 72, Tied = true },
        "rows-of-320" => new TestModelOptions { Dim = 320, Layers = 2, Heads = 5, KvHeads = 5, Ffn = 640, Vocab = 280, Seed = 73 },
        "phi3-hd64" => new TestModelOptions { Arch = TestArchitecture.Phi3, Dim = 256, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 512, Vocab = 300, Seed = 74, RopeScaling = TestRopeScaling.LongRope, OriginalContext = 16, PartialRotary = 0.5f },
        _ => throw new ArgumentException(name),
    };

    private static ModelParams OracleParams(string path) => new(path)
    {
        GpuLayerCount = 0,
        ContextSize = 128,
        BatchSize = 64,
        UBatchSize = 64,
        Threads = 2,
        BatchThreads = 2,
        FlashAttention = false,
        TypeK = GGMLType.GGML_TYPE_F32,
        TypeV = GGMLType.GGML_TYPE_F32,
    };

    private static int[] Prompt(int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, PromptLength).Select(_ => rng.Next(vocab)).ToArray();
    }

    private static float[][] FolioPrompt(string path, int[] prompt, bool keepQuantized)
    {
        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, KeepQuantized = keepQuantized });
        return new BatchDriver(runner).RunAlone(new TestSequence(prompt, [0, 1]), PromptLength);
    }

    private static float[][] LlamaPrompt(LLamaContext context, int[] prompt)
    {
        context.NativeHandle.MemoryClear();
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, true);
        }

        Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
        return Enumerable.Range(0, prompt.Length).Select(i => context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    private static double MaxAbs(IEnumerable<float[]> rows) => rows.SelectMany(r => r).Max(v => Math.Abs((double)v));

    private static double MaxDiff(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b) =>
        a.Zip(b).Max(p => p.First.Zip(p.Second).Max(x => Math.Abs((double)x.First - x.Second)));

    /// <summary>δ: how far int8 activations move Folio's logits from its exact-weights f32 path on this model and prompt.</summary>
    private static double Int8Noise(string path, int[] prompt) => MaxDiff(FolioPrompt(path, prompt, keepQuantized: true), FolioPrompt(path, prompt, keepQuantized: false));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_at_every_prompt_position_are_within_twice_the_int8_noise_of_llama_cpps(string shape, string mix)
    {
        var o = Shape(shape);
        string path = QuantizedTestModels.Get(shape, o, mix);
        var prompt = Prompt(o.Vocab, seed: 1);
        var folio = FolioPrompt(path, prompt, keepQuantized: true);
        double delta = Int8Noise(path, prompt);

        LlamaNative.Load();
        using var weights = LLamaWeights.LoadFromFile(OracleParams(path));
        using var context = weights.CreateContext(OracleParams(path));
        var llama = LlamaPrompt(context, prompt);
        double maxAbs = MaxAbs(llama);
        double diff = MaxDiff(folio, llama);

        Assert.True(maxAbs > 0.1, $"{shape} {mix}: degenerate logits (max |logit| {maxAbs})");
        Assert.True(delta > 0 && delta < 0.1 * maxAbs, $"{shape} {mix}: int8 noise δ {delta:E2} is not a small fraction of max |logit| {maxAbs:F3}");
        Assert.True(diff <= 2 * delta, $"{shape} {mix}: max |Folio - llama.cpp| {diff:E3} exceeds 2δ = {2 * delta:E3} (max |logit| {maxAbs:F3})");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Most_single_token_logits_equal_llama_cpps_to_float_rounding(string shape, string mix)
    {
        var o = Shape(shape);
        string path = QuantizedTestModels.Get(shape, o, mix);
        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 2, BlockSize = 16, Threads = 2 });
        LlamaNative.Load();
        using var weights = LLamaWeights.LoadFromFile(OracleParams(path));
        using var context = weights.CreateContext(OracleParams(path));
        var driver = new BatchDriver(runner);
        int close = 0;
        var far = new List<string>();
        for (int token = 0; token < ScannedTokens; token++)
        {
            var folio = driver.Step(new StepPart(new TestSequence([token], [0]), 1))[0][0];
            var llama = LlamaPrompt(context, [token])[0];
            double maxAbs = llama.Max(v => Math.Abs((double)v));
            double diff = folio.Zip(llama).Max(x => Math.Abs((double)x.First - x.Second));
            if (diff <= 1e-4 * maxAbs)
            {
                close++;
            }
            else
            {
                far.Add($"{token}:{diff / maxAbs:E1}");
            }
        }

        Assert.True(close >= ScannedTokens * 9 / 10, $"{shape} {mix}: only {close} of {ScannedTokens} one-token prompts agree to 1e-4 of max |logit|; the others (token:relative diff): {string.Join(" ", far)}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_tokens_are_llama_cpps_wherever_its_top_two_margin_is_not_a_near_tie(string shape, string mix)
    {
        var o = Shape(shape);
        string path = QuantizedTestModels.Get(shape, o, mix);
        var prompt = Prompt(o.Vocab, seed: 2);
        double nearTie = 2 * Int8Noise(path, prompt);

        LlamaNative.Load();
        using var weights = LLamaWeights.LoadFromFile(OracleParams(path));
        using var context = weights.CreateContext(OracleParams(path));
        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2 });
        var tokens = new int[PromptLength + Continuation];
        prompt.CopyTo(tokens, 0);
        var seq = new TestSequence(tokens, [3, 0, 5, 1]);
        var driver = new BatchDriver(runner);
        var folioLogits = driver.Step(new StepPart(seq, PromptLength))[0][0];

        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        }

        int decisive = 0;
        for (int i = 0; i < Continuation; i++)
        {
            Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
            var llamaLogits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1).ToArray();
            int llama = ArgMax(llamaLogits);
            int folio = ArgMax(folioLogits);
            double margin = TopTwoMargin(llamaLogits);
            if (margin > nearTie)
            {
                decisive++;
                Assert.True(folio == llama, $"{shape} {mix}: step {i}: Folio picks {folio}, llama.cpp {llama} with a top-2 margin of {margin:E3} > 2δ = {nearTie:E3}");
            }

            // Both engines continue from llama.cpp's choice, so every step compares the same context.
            tokens[PromptLength + i] = llama;
            if (i + 1 < Continuation)
            {
                folioLogits = driver.Step(new StepPart(seq, 1))[0][0];
                batch.Clear();
                batch.Add(llama, PromptLength + i, LLamaSeqId.Zero, true);
            }
        }

        // Random test models have flat logits, so many margins are small; a quarter decisive still compares 8 tokens a model.
        Assert.True(decisive >= Continuation / 4, $"{shape} {mix}: only {decisive} of {Continuation} steps had a margin above 2δ = {nearTie:E3}; the comparison would prove little");
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static double TopTwoMargin(float[] logits)
    {
        var top = logits.OrderByDescending(x => x).Take(2).ToArray();
        return top[0] - top[1];
    }
}
