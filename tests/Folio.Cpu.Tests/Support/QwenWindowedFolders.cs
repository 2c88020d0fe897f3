using Folio.Models;
using Folio.ModelTools;

namespace Folio.Cpu.Tests.Support;

/// <summary>
/// Tiny Qwen2 and Qwen3 Hugging Face folders with use_sliding_window and max_window_layers, the
/// shape real Qwen checkpoints can take (layers below max_window_layers full attention, the rest
/// windowed). GGUF has no key for max_window_layers, so these exist only as folders; the test model
/// writer's options carry no max_window_layers either, so the config it describes is amended here
/// and written with the same weights and tokenizer.
/// </summary>
internal static class QwenWindowedFolders
{
    /// <summary>Qwen2: q/k/v biases; Qwen3: per-head q/k RMSNorm, no biases.</summary>
    public static TestModelOptions Options(string family, int vocab, int seed) => family switch
    {
        "qwen2" => new TestModelOptions { Dim = 64, Layers = 4, Heads = 4, KvHeads = 2, HeadDim = 16, Ffn = 96, Vocab = vocab, Seed = (ulong)seed, Bias = true },
        "qwen3" => new TestModelOptions { Arch = TestArchitecture.Qwen3, Dim = 64, Layers = 4, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 96, Vocab = vocab, Seed = (ulong)seed },
        _ => throw new ArgumentException(family),
    };

    /// <summary>
    /// The config a folder written with <paramref name="window"/> and <paramref name="maxWindowLayers"/>
    /// states (null window: use_sliding_window false).
    /// </summary>
    public static ModelConfig Config(TestModelOptions o, int? window, int maxWindowLayers)
    {
        var config = TestModelWriter.Config(o);
        return config with
        {
            Architecture = o.Arch == TestArchitecture.Qwen3 ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM",
            SlidingWindow = window,
            FirstLocalLayer = window is null ? 0 : maxWindowLayers,
        };
    }

    /// <summary>Writes the folder and returns the f32 weights it holds (what the reference must use).</summary>
    public static Dictionary<string, float[]> Write(string folder, TestModelOptions o, int? window, int maxWindowLayers)
    {
        var weights = TestModelWriter.Weights(o);
        HuggingFaceWriter.Write(folder, Config(o, window, maxWindowLayers), TestModelWriter.Tokenizer(o), weights, DType.F32);
        return weights;
    }
}
