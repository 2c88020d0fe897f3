using System.Text.Json;
using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// The parts of a Gemma 2 / Gemma 3 config.json that the Llama keys do not cover, with the defaults
/// of transformers' Gemma2Config and Gemma3TextConfig: GeGLU, (1 + w) norms, sqrt(hidden) embedding
/// scale, four norms a layer, query_pre_attn_scalar, soft-capping, and the local/global layer
/// pattern with Gemma 3's local rope base.
/// </summary>
internal static class HuggingFaceGemmaConfig
{
    public static bool IsGemma(string architecture) => architecture is "Gemma2ForCausalLM" or "Gemma3ForCausalLM";

    public static ModelConfig Apply(string source, JsonElement root, ModelConfig config)
    {
        bool gemma3 = config.Architecture == "Gemma3ForCausalLM";
        foreach (string key in (ReadOnlySpan<string>)["hidden_activation", "hidden_act"])
        {
            if (root.TryGetProperty(key, out var act) && act.ValueKind == JsonValueKind.String && act.GetString() is not ("gelu_pytorch_tanh" or "gelu_tanh"))
            {
                throw new ModelFormatException($"{source}: {key} \"{act.GetString()}\" is not supported for {config.Architecture}; Folio runs Gemma with \"gelu_pytorch_tanh\"");
            }
        }

        int window = HuggingFaceConfig.OptionalInt(source, root, "sliding_window") ?? 4096;
        int pattern = ReadPattern(source, root, config.NumLayers, gemma3 ? 6 : 2);
        double scalar = HuggingFaceConfig.OptionalDouble(source, root, "query_pre_attn_scalar") ?? 256;
        if (scalar <= 0)
        {
            throw new ModelFormatException($"{source}: query_pre_attn_scalar must be > 0 (got {scalar})");
        }

        double? attnCap = HuggingFaceConfig.OptionalDouble(source, root, "attn_logit_softcapping") ?? (gemma3 ? null : 50.0);
        double? finalCap = HuggingFaceConfig.OptionalDouble(source, root, "final_logit_softcapping") ?? (gemma3 ? null : 30.0);
        return config with
        {
            NormWeightOffset = 1f,
            Activation = MlpActivation.GeluTanh,
            EmbeddingScale = (float)Math.Sqrt(config.HiddenSize),
            SandwichNorms = true,
            QkNorm = gemma3,
            AttentionScale = (float)(1.0 / Math.Sqrt(scalar)),
            AttentionLogitSoftcap = (float?)attnCap,
            FinalLogitSoftcap = (float?)finalCap,
            SlidingWindow = pattern == 0 ? null : window,
            SlidingWindowPattern = Math.Max(pattern, 1),
            RopeLocalTheta = gemma3 ? (float)(HuggingFaceConfig.OptionalDouble(source, root, "rope_local_base_freq") ?? 10000.0) : null,
        };
    }

    /// <summary>
    /// sliding_window_pattern, or the period of layer_types (newer transformers write
    /// "sliding_attention"/"full_attention" per layer); a layer_types list that no period describes
    /// is refused rather than run with the wrong layers local. 0 when every layer is global.
    /// </summary>
    private static int ReadPattern(string source, JsonElement root, int layers, int defaultPattern)
    {
        int pattern = HuggingFaceConfig.OptionalInt(source, root, "sliding_window_pattern") ?? defaultPattern;
        if (HuggingFaceLayerTypes.ReadSliding(source, root, layers) is not bool[] local)
        {
            return pattern;
        }

        int firstGlobal = Array.IndexOf(local, false);
        if (firstGlobal == 0 && !local.Contains(true))
        {
            return 0;
        }

        int period = firstGlobal < 0 ? int.MaxValue : firstGlobal + 1;
        for (int l = 0; l < layers; l++)
        {
            bool expected = period == int.MaxValue || (l + 1) % period != 0;
            if (local[l] != expected)
            {
                throw new ModelFormatException($"{source}: layer_types is not periodic (layer {l} breaks a pattern of {period}); Folio runs Gemma layouts where every n-th layer is global");
            }
        }

        return period == int.MaxValue ? 1 : period;
    }
}
