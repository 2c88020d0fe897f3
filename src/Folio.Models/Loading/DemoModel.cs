using Folio.Models;
using Folio.Text.Chat;

namespace Folio.Models.Loading;

/// <summary>
/// The "demo" model: a 50M-parameter Llama shape with deterministic random weights (like vLLM's
/// --load-format dummy) and the real GPT-2 tokenizer, so Folio runs end to end with no model file;
/// chat requests render with a built-in ChatML template (GPT-2 has no ChatML tokens, so the markers
/// are ordinary text, which is enough to show the path).
/// Weights live in native memory and are generated in parallel from a counter-based hash.
/// </summary>
public static class DemoModel
{
    public const string Name = "demo";
    public const ulong Seed = 20240601;

    public static ModelConfig Config { get; } = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 512,
        NumLayers = 8,
        NumHeads = 8,
        NumKvHeads = 4,
        HeadDim = 64,
        IntermediateSize = 1536,
        VocabSize = 50257,
        MaxPositionEmbeddings = 2048,
        RmsNormEps = 1e-5f,
        RopeTheta = 10000f,
        RopeStyle = RopeStyle.RotateHalf,
        TieWordEmbeddings = true,
        BosTokenId = 50256,
        EosTokenIds = [50256],
    };

    /// <summary>GPT-2's one special token serves as both BOS and EOS.</summary>
    public static SpecialTokenStrings SpecialTokens { get; } = new() { BosToken = "<|endoftext|>", EosToken = "<|endoftext|>", UnkToken = "<|endoftext|>" };

    public static LoadedModel Load()
    {
        var tokenizer = LoaderTokenizers.Gpt2();
        var store = new NativeTensorStore(Name);
        try
        {
            var expected = ModelTensorChecker.Expected(Config);
            var targets = new List<(ExpectedTensor Tensor, TensorView View)>();
            foreach (var e in expected)
            {
                store.AddF32(e.Name, e.Shape);
                targets.Add((e, store.Tensors[e.Name]));
            }

            // Chunks of 1M elements so the big embedding matrix spreads over every core too.
            const int chunk = 1 << 20;
            var work = targets.SelectMany(t => Enumerable.Range(0, (int)((t.View.ElementCount + chunk - 1) / chunk)).Select(c => (t.Tensor, t.View, Start: (long)c * chunk))).ToArray();
            Parallel.ForEach(work, item => FillChunk(item.Tensor, item.View, item.Start, chunk));
            ModelTensorChecker.Check(Name, Config, store.Tensors);
            return new LoadedModel(Name, Config, tokenizer, store.Tensors, [store])
            {
                ChatTemplate = ChatTemplate.Single(BuiltInChatTemplates.ChatMl, "Folio's built-in ChatML template (demo model)", SpecialTokens),
                SpecialTokens = SpecialTokens,
            };
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    private static unsafe void FillChunk(ExpectedTensor tensor, TensorView view, long start, int chunk)
    {
        int count = (int)Math.Min(chunk, view.ElementCount - start);
        var (mean, std) = LlamaWeightInit.Scale(tensor, noisyNorms: false);
        // Generate the whole chunk from its own counter range: element i of the tensor is always draw i.
        var dst = new Span<float>((float*)view.Data + start, count);
        DeterministicWeights.FillRange(dst, Seed, tensor.Name, start, mean, std);
    }
}
