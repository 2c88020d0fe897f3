using System.Text.Json;

namespace Folio.Text.Tokenization;

/// <summary>
/// The special-token facts scattered over a Hugging Face folder: tokenizer_config.json
/// (add_bos_token, bos_token, eos_token), config.json and generation_config.json (bos/eos ids).
/// </summary>
internal sealed record HuggingFaceConfigFiles(
    bool? AddBosToken,
    string? BosToken,
    string? EosToken,
    int? ConfigBosId,
    IReadOnlyList<int> ConfigEosIds,
    IReadOnlyList<int> GenerationEosIds)
{
    public static HuggingFaceConfigFiles Read(string folder)
    {
        bool? addBos = null;
        string? bosToken = null, eosToken = null;
        using (var tc = OpenOptional(Path.Combine(folder, "tokenizer_config.json")))
        {
            if (tc is not null)
            {
                var root = tc.RootElement;
                if (root.TryGetProperty("add_bos_token", out var ab) && ab.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    addBos = ab.GetBoolean();
                }

                bosToken = TokenContent(root, "bos_token");
                eosToken = TokenContent(root, "eos_token");
            }
        }

        int? configBos = null;
        IReadOnlyList<int> configEos = [];
        using (var c = OpenOptional(Path.Combine(folder, "config.json")))
        {
            if (c is not null)
            {
                configBos = Ids(c.RootElement, "bos_token_id").Cast<int?>().FirstOrDefault();
                configEos = Ids(c.RootElement, "eos_token_id");
            }
        }

        IReadOnlyList<int> generationEos = [];
        using (var g = OpenOptional(Path.Combine(folder, "generation_config.json")))
        {
            if (g is not null)
            {
                generationEos = Ids(g.RootElement, "eos_token_id");
            }
        }

        return new HuggingFaceConfigFiles(addBos, bosToken, eosToken, configBos, configEos, generationEos);
    }

    internal static JsonDocument? OpenOptional(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>A special token given as a string or as an AddedToken object with "content".</summary>
    private static string? TokenContent(JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        };
    }

    /// <summary>An id given as a number or a list of numbers.</summary>
    private static IReadOnlyList<int> Ids(JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var value))
        {
            return [];
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number => [value.GetInt32()],
            JsonValueKind.Array => value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetInt32()).ToArray(),
            _ => [],
        };
    }
}
