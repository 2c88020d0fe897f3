using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// A GGUF file's rope scaling as llama.cpp reads it: {arch}.rope.scaling.type ("none", "linear",
/// "yarn", "longrope") with rope.scaling.factor, rope.scaling.original_context_length and
/// rope.scaling.attn_factor; LongRoPE's per-frequency factors as the rope_factors_long/short tensors
/// (Phi-3's converter writes only those, no type); Llama 3 as the rope_freqs tensor (or Folio's own
/// exact keys). An unknown type stops loading naming the key and the accepted values.
/// </summary>
public static class GgufRopeScaling
{
    public const string LongFactorsTensor = "rope_factors_long.weight";
    public const string ShortFactorsTensor = "rope_factors_short.weight";

    /// <summary>The values of rope.scaling.type llama.cpp and Folio accept.</summary>
    public static readonly IReadOnlyList<string> AcceptedTypes = ["none", "linear", "yarn", "longrope"];

    /// <summary>ggml's defaults for YaRN's ramp (llama_context_default_params).</summary>
    public const float DefaultBetaFast = 32f, DefaultBetaSlow = 1f;

    public static RotaryScaling? Read(string path, string arch, IReadOnlyDictionary<string, GgufValue> md, IReadOnlyDictionary<string, TensorView> tensors, int rotaryDim, int contextLength, Func<RotaryScaling?> llama3)
    {
        string typeKey = $"{arch}.rope.scaling.type";
        string? type = md.TryGetValue(typeKey, out var t) ? Read(path, typeKey, t.AsString) : null;
        if (type is not null && !AcceptedTypes.Contains(type))
        {
            throw new ModelFormatException($"{path}: {typeKey} \"{type}\" is not supported; accepted values: {string.Join(", ", AcceptedTypes.Select(a => $"\"{a}\""))}");
        }

        float? Float(string key) => md.TryGetValue($"{arch}.{key}", out var v) ? (float)Read(path, $"{arch}.{key}", v.AsDouble) : null;
        int original = md.TryGetValue($"{arch}.rope.scaling.original_context_length", out var oc) ? checked((int)Read(path, $"{arch}.rope.scaling.original_context_length", oc.AsLong)) : contextLength;
        bool hasFactorTensors = tensors.ContainsKey(LongFactorsTensor) || tensors.ContainsKey(ShortFactorsTensor);
        if (hasFactorTensors || type == "longrope")
        {
            // llama.cpp multiplies cos and sin by rope.scaling.attn_factor (its converter writes LongRoPE's there).
            return new LongRopeScaling(Factors(path, tensors, ShortFactorsTensor, rotaryDim), Factors(path, tensors, LongFactorsTensor, rotaryDim), original, Float("rope.scaling.attn_factor") ?? 1f);
        }

        float factor = Float("rope.scaling.factor") is float f && f != 0 ? f : 1f;
        switch (type)
        {
            case "linear" when factor != 1f:
                return new LinearRopeScaling(factor);
            case "yarn":
                // ggml's rope_yarn multiplies cos and sin by attn_factor x (1 + 0.1 ln factor): YaRN's default
                // attention factor, times whatever rope.scaling.attn_factor the file adds.
                float attention = YarnRopeScaling.DefaultAttentionFactor(factor) * (Float("rope.scaling.attn_factor") ?? 1f);
                return new YarnRopeScaling(factor, original, Float("rope.scaling.yarn_beta_fast") ?? DefaultBetaFast, Float("rope.scaling.yarn_beta_slow") ?? DefaultBetaSlow, attention);
            case "none":
                return null;
            default:
                return llama3();
        }
    }

    private static float[] Factors(string path, IReadOnlyDictionary<string, TensorView> tensors, string name, int rotaryDim)
    {
        if (!tensors.TryGetValue(name, out var view))
        {
            throw new ModelFormatException($"{path}: LongRoPE needs both '{ShortFactorsTensor}' and '{LongFactorsTensor}'; '{name}' is missing");
        }

        if (view.DType != DType.F32 || view.ElementCount != rotaryDim / 2)
        {
            throw new ModelFormatException($"{path}: tensor '{name}' must be F32 [{rotaryDim / 2}] (half the rotary dimensions); got {view.DType} {view.ShapeText}");
        }

        return DTypeConversion.ToF32(view);
    }

    private static T Read<T>(string path, string key, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException)
        {
            throw new ModelFormatException($"{path}: metadata '{key}' has the wrong type ({e.Message})", e);
        }
    }
}
