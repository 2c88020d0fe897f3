using System.Text.Json;
using Folio.Models;
using static Folio.Models.Loading.HuggingFaceConfig;

namespace Folio.Models.Loading;

/// <summary>
/// config.json's rope_scaling (rope_type or its older name type) to a <see cref="RotaryScaling"/>, with
/// the defaults of transformers' modeling_rope_utils. An unknown type stops loading naming the key and
/// the accepted values.
/// </summary>
public static class HuggingFaceRopeScaling
{
    /// <summary>The rope_scaling types Folio runs ("su" is LongRoPE's older name, "default" means none).</summary>
    public static readonly IReadOnlyList<string> AcceptedTypes = ["default", "llama3", "linear", "dynamic", "yarn", "longrope", "su"];

    public static RotaryScaling? Read(string source, JsonElement root, int maxPositions, int rotaryDim)
    {
        if (!root.TryGetProperty("rope_scaling", out var rs) || rs.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (rs.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException($"{source}: rope_scaling must be an object or null");
        }

        string key = rs.TryGetProperty("rope_type", out _) ? "rope_scaling.rope_type" : "rope_scaling.type";
        string? type = rs.TryGetProperty("rope_type", out var t) ? String(source, t, key) : rs.TryGetProperty("type", out var t2) ? String(source, t2, key) : null;
        // Phi-3 keeps original_max_position_embeddings beside rope_scaling; newer configs inside it.
        int original = OptionalInt(source, rs, "original_max_position_embeddings") ?? OptionalInt(source, root, "original_max_position_embeddings") ?? maxPositions;
        switch (type)
        {
            case null or "default":
                return null;
            case "llama3":
                return new Llama3RopeScaling(
                    (float)(OptionalDouble(source, rs, "factor") ?? 8.0),
                    (float)(OptionalDouble(source, rs, "low_freq_factor") ?? 1.0),
                    (float)(OptionalDouble(source, rs, "high_freq_factor") ?? 4.0),
                    OptionalInt(source, rs, "original_max_position_embeddings") ?? 8192);
            case "linear":
                return new LinearRopeScaling(Factor(source, rs, type));
            case "dynamic":
                return new DynamicNtkRopeScaling(Factor(source, rs, type), maxPositions);
            case "yarn":
                return Yarn(source, rs, maxPositions, original);
            case "longrope" or "su":
                return LongRope(source, rs, maxPositions, original, rotaryDim);
            default:
                throw new ModelFormatException($"{source}: {key} \"{type}\" is not supported; accepted values: {string.Join(", ", AcceptedTypes.Select(a => $"\"{a}\""))} (or no rope_scaling)");
        }
    }

    private static YarnRopeScaling Yarn(string source, JsonElement rs, int maxPositions, int original)
    {
        // transformers: a missing factor is max_position_embeddings / original_max_position_embeddings.
        double factor = OptionalDouble(source, rs, "factor") ?? ((double)maxPositions / original);
        double? mscale = OptionalDouble(source, rs, "mscale");
        double? mscaleAllDim = OptionalDouble(source, rs, "mscale_all_dim");
        float attention = OptionalDouble(source, rs, "attention_factor") is double given
            ? (float)given
            : mscale is > 0 && mscaleAllDim is > 0
                ? YarnRopeScaling.DefaultAttentionFactor(factor, mscale.Value) / YarnRopeScaling.DefaultAttentionFactor(factor, mscaleAllDim.Value)
                : YarnRopeScaling.DefaultAttentionFactor(factor);
        // `or 32` / `or 1` in transformers: a zero or missing beta takes the paper's default.
        double betaFast = OptionalDouble(source, rs, "beta_fast") is double bf && bf != 0 ? bf : 32;
        double betaSlow = OptionalDouble(source, rs, "beta_slow") is double bs && bs != 0 ? bs : 1;
        return new YarnRopeScaling((float)factor, original, (float)betaFast, (float)betaSlow, attention, OptionalBool(source, rs, "truncate") ?? true);
    }

    private static LongRopeScaling LongRope(string source, JsonElement rs, int maxPositions, int original, int rotaryDim)
    {
        var shortFactor = Factors(source, rs, "short_factor", rotaryDim);
        var longFactor = Factors(source, rs, "long_factor", rotaryDim);
        double scale = OptionalDouble(source, rs, "factor") ?? ((double)maxPositions / original);
        float attention = OptionalDouble(source, rs, "attention_factor") is double given ? (float)given : LongRopeScaling.DefaultAttentionFactor(scale, original);
        return new LongRopeScaling(shortFactor, longFactor, original, attention);
    }

    private static float[] Factors(string source, JsonElement rs, string key, int rotaryDim)
    {
        if (!rs.TryGetProperty(key, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new ModelFormatException($"{source}: rope_scaling.{key} (a list of {rotaryDim / 2} numbers) is required for longrope");
        }

        var values = new float[list.GetArrayLength()];
        int i = 0;
        foreach (var e in list.EnumerateArray())
        {
            values[i++] = e.ValueKind == JsonValueKind.Number ? (float)e.GetDouble() : throw new ModelFormatException($"{source}: rope_scaling.{key} must hold numbers (got {e.GetRawText()})");
        }

        if (values.Length != rotaryDim / 2)
        {
            throw new ModelFormatException($"{source}: rope_scaling.{key} holds {values.Length} values; expected {rotaryDim / 2} (half the rotary dimensions)");
        }

        return values;
    }

    private static float Factor(string source, JsonElement rs, string type) =>
        (float)(OptionalDouble(source, rs, "factor") ?? throw new ModelFormatException($"{source}: rope_scaling.factor is required for rope type \"{type}\""));

    private static string? String(string source, JsonElement v, string key) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Null => null,
        _ => throw new ModelFormatException($"{source}: {key} must be a string (got {v.GetRawText()})"),
    };
}
