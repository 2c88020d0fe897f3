using System.Text.Json;

namespace Folio.Models.Loading;

/// <summary>
/// config.json's layer_types, which newer transformers write for Gemma 2/3 and Qwen2/Qwen3 (and
/// which, when present, decides which layers are windowed over sliding_window_pattern or
/// max_window_layers): true for each "sliding_attention" layer, false for "full_attention".
/// </summary>
internal static class HuggingFaceLayerTypes
{
    /// <summary>Null when the key is absent or null; a list of another length or with another type is refused.</summary>
    public static bool[]? ReadSliding(string source, JsonElement root, int layers)
    {
        if (!root.TryGetProperty("layer_types", out var types) || types.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (types.ValueKind != JsonValueKind.Array || types.GetArrayLength() != layers)
        {
            throw new ModelFormatException($"{source}: layer_types must list one of \"sliding_attention\"/\"full_attention\" for each of the {layers} layers");
        }

        var sliding = new bool[layers];
        int i = 0;
        foreach (var t in types.EnumerateArray())
        {
            sliding[i++] = (t.ValueKind == JsonValueKind.String ? t.GetString() : t.GetRawText()) switch
            {
                "sliding_attention" => true,
                "full_attention" => false,
                var other => throw new ModelFormatException($"{source}: layer_types[{i - 1}] \"{other}\" is not supported; expected \"sliding_attention\" or \"full_attention\""),
            };
        }

        return sliding;
    }
}
