using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

using Folio.Cuda;

namespace Folio.Cli.Cuda;

/// <summary>
/// A model of a real shape with random bf16 weights, for benchmarks on a GPU host (like vLLM's
/// --load-format dummy): Llama-3-8B is 16 GB of bf16, generated in parallel on the host in seconds.
/// </summary>
public static unsafe class SyntheticModel
{
    public static ModelConfig Llama3_8B { get; } = new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 4096,
        NumLayers = 32,
        NumHeads = 32,
        NumKvHeads = 8,
        HeadDim = 128,
        IntermediateSize = 14336,
        VocabSize = 128256,
        MaxPositionEmbeddings = 8192,
        RmsNormEps = 1e-5f,
        RopeTheta = 500000f,
        RopeScaling = new Llama3RopeScaling(8f, 1f, 4f, 8192),
        BosTokenId = 128000,
        EosTokenIds = [128001],
    };

    public static LoadedModel Create(ModelConfig config, ulong seed = 1)
    {
        var store = new NativeTensorStore("synthetic " + config.Architecture);
        try
        {
            var views = new List<TensorView>();
            foreach (var e in ModelTensorChecker.Expected(config))
            {
                long n = DTypeConversion.ElementCount(e.Shape);
                views.Add(store.Add(e.Name, DType.BF16, e.Shape, n * 2));
            }

            const long chunk = 1 << 22;
            var work = views.SelectMany(v => Enumerable.Range(0, (int)((v.ElementCount + chunk - 1) / chunk)).Select(i => (View: v, Start: i * chunk))).ToArray();
            Parallel.ForEach(work, item =>
            {
                bool norm = item.View.Shape.Length == 1;
                long end = Math.Min(item.View.ElementCount, item.Start + chunk);
                var p = (ushort*)item.View.Data;
                ulong x = seed ^ (ulong)item.Start * 0x9E3779B97F4A7C15UL ^ (ulong)item.View.Name.GetHashCode(StringComparison.Ordinal);
                for (long i = item.Start; i < end; i++)
                {
                    // xorshift64*: uniform in [-0.03, 0.03) for matrices (about a 0.02 std), 1 for norms
                    x ^= x >> 12;
                    x ^= x << 25;
                    x ^= x >> 27;
                    float u = (float)((x * 2685821657736338717UL) >> 40) / (1 << 24);
                    p[i] = DTypeConversion.F32ToBF16(norm ? 1f : (u - 0.5f) * 0.06f);
                }
            });
            return new LoadedModel("synthetic", config, TokenizerFactory.Gpt2(), store.Tensors, [store]);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }
}
