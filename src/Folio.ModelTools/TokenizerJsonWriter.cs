using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text;
using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.ModelTools;

/// <summary>
/// Writes a spec as Hugging Face files: tokenizer.json (a BPE model that the tokenizers library
/// accepts, byte-level or SentencePiece-style with byte fallback) and tokenizer_config.json
/// (BOS/EOS and the BOS rule), so that test models written as folders carry their tokenizer.
/// </summary>
public static class TokenizerJsonWriter
{
    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>tokenizer.json for the spec.</summary>
    public static string Write(TokenizerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var byteLevel = spec.Model switch
        {
            "gpt2" => true,
            "llama" => false,
            _ => throw new ArgumentException($"Tokenizer model '{spec.Model}' cannot be written as tokenizer.json (supported: gpt2, llama).", nameof(spec)),
        };
        var types = spec.TokenTypes.Count == spec.Tokens.Count ? spec.TokenTypes : Enumerable.Repeat(GgufTokenType.Normal, spec.Tokens.Count).ToArray();

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Options))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            WriteAddedTokens(w, spec, types);
            if (byteLevel)
            {
                WriteByteLevelPipeline(w, spec);
            }
            else
            {
                WriteSentencePiecePipeline(w, spec);
            }

            WriteModel(w, spec, types, byteLevel);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>tokenizer_config.json: add_bos_token and the BOS/EOS token strings.</summary>
    public static string WriteTokenizerConfig(TokenizerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Options))
        {
            w.WriteStartObject();
            w.WriteBoolean("add_bos_token", spec.AddBosToken);
            w.WriteBoolean("add_eos_token", false);
            WriteTokenOrNull(w, "bos_token", spec, spec.BosTokenId);
            WriteTokenOrNull(w, "eos_token", spec, spec.EosTokenIds.Count > 0 ? spec.EosTokenIds[0] : null);
            for (var id = 0; id < spec.Tokens.Count && spec.Model == "llama"; id++)
            {
                if (spec.TokenTypes.Count == spec.Tokens.Count && spec.TokenTypes[id] == GgufTokenType.Unknown)
                {
                    w.WriteString("unk_token", spec.Tokens[id]);
                    break;
                }
            }

            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="folder"/>.</summary>
    public static void WriteFolder(TokenizerSpec spec, string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), Write(spec));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), WriteTokenizerConfig(spec));
    }

    private static void WriteTokenOrNull(Utf8JsonWriter w, string key, TokenizerSpec spec, int? id)
    {
        if (id is int i)
        {
            w.WriteString(key, spec.Tokens[i]);
        }
        else
        {
            w.WriteNull(key);
        }
    }

    private static void WriteAddedTokens(Utf8JsonWriter w, TokenizerSpec spec, IReadOnlyList<int> types)
    {
        w.WriteStartArray("added_tokens");
        for (var id = 0; id < spec.Tokens.Count; id++)
        {
            var type = types[id];
            if (type is not (GgufTokenType.Control or GgufTokenType.UserDefined or GgufTokenType.Unknown))
            {
                continue;
            }

            var special = type != GgufTokenType.UserDefined;
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", spec.Tokens[id]);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", !special);
            w.WriteBoolean("special", special);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteByteLevelPipeline(Utf8JsonWriter w, TokenizerSpec spec)
    {
        if (spec.Pre is "qwen2" or "stablelm2" or "deepseek-r1-qwen")
        {
            w.WriteStartObject("normalizer");
            w.WriteString("type", "NFC");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("normalizer");
        }

        var patterns = PreTokenizerPatterns.ForName(spec.Pre);
        w.WritePropertyName("pre_tokenizer");
        if (patterns is [PreTokenizerPatterns.Gpt2])
        {
            WriteByteLevel(w, useRegex: true);
        }
        else
        {
            w.WriteStartObject();
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            foreach (var pattern in patterns)
            {
                w.WriteStartObject();
                w.WriteString("type", "Split");
                w.WriteStartObject("pattern");
                w.WriteString("Regex", pattern);
                w.WriteEndObject();
                w.WriteString("behavior", "Isolated");
                w.WriteBoolean("invert", false);
                w.WriteEndObject();
            }

            WriteByteLevel(w, useRegex: false);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WritePropertyName("post_processor");
        if (spec.AddBosToken && spec.BosTokenId is int bos)
        {
            WriteBosTemplate(w, spec.Tokens[bos], bos);
        }
        else
        {
            WriteByteLevel(w, useRegex: true);
        }

        w.WritePropertyName("decoder");
        WriteByteLevel(w, useRegex: true);
    }

    private static void WriteByteLevel(Utf8JsonWriter w, bool useRegex)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", useRegex);
        w.WriteEndObject();
    }

    private static void WriteSentencePiecePipeline(Utf8JsonWriter w, TokenizerSpec spec)
    {
        // Llama 2's layout: prepend '▁' and mark spaces in the normalizer, no pre-tokenizer.
        w.WriteStartObject("normalizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("normalizers");
        w.WriteStartObject();
        w.WriteString("type", "Prepend");
        w.WriteString("prepend", "\u2581");
        w.WriteEndObject();
        WriteReplace(w, " ", "\u2581");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("pre_tokenizer");

        w.WritePropertyName("post_processor");
        if (spec.AddBosToken && spec.BosTokenId is int bos)
        {
            WriteBosTemplate(w, spec.Tokens[bos], bos);
        }
        else
        {
            WriteBosTemplate(w, null, 0);
        }

        w.WriteStartObject("decoder");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("decoders");
        WriteReplace(w, "\u2581", " ");
        w.WriteStartObject();
        w.WriteString("type", "ByteFallback");
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteString("type", "Fuse");
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteString("type", "Strip");
        w.WriteString("content", " ");
        w.WriteNumber("start", 1);
        w.WriteNumber("stop", 0);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteReplace(Utf8JsonWriter w, string from, string to)
    {
        w.WriteStartObject();
        w.WriteString("type", "Replace");
        w.WriteStartObject("pattern");
        w.WriteString("String", from);
        w.WriteEndObject();
        w.WriteString("content", to);
        w.WriteEndObject();
    }

    /// <summary>TemplateProcessing that puts <paramref name="bosText"/> before each sequence (none when null).</summary>
    private static void WriteBosTemplate(Utf8JsonWriter w, string? bosText, int bosId)
    {
        w.WriteStartObject();
        w.WriteString("type", "TemplateProcessing");
        foreach (var (key, sequences) in new[] { ("single", new[] { "A" }), ("pair", new[] { "A", "B" }) })
        {
            w.WriteStartArray(key);
            foreach (var sequence in sequences)
            {
                var typeId = sequence == "A" ? 0 : 1;
                if (bosText is not null)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("SpecialToken");
                    w.WriteString("id", bosText);
                    w.WriteNumber("type_id", typeId);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteStartObject();
                w.WriteStartObject("Sequence");
                w.WriteString("id", sequence);
                w.WriteNumber("type_id", typeId);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteStartObject("special_tokens");
        if (bosText is not null)
        {
            w.WriteStartObject(bosText);
            w.WriteString("id", bosText);
            w.WriteStartArray("ids");
            w.WriteNumberValue(bosId);
            w.WriteEndArray();
            w.WriteStartArray("tokens");
            w.WriteStringValue(bosText);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteModel(Utf8JsonWriter w, TokenizerSpec spec, IReadOnlyList<int> types, bool byteLevel)
    {
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        var unk = byteLevel ? -1 : Enumerable.Range(0, spec.Tokens.Count).FirstOrDefault(id => types[id] == GgufTokenType.Unknown, -1);
        if (unk >= 0)
        {
            w.WriteString("unk_token", spec.Tokens[unk]);
        }
        else
        {
            w.WriteNull("unk_token");
        }

        w.WriteNull("continuing_subword_prefix");
        w.WriteNull("end_of_word_suffix");
        w.WriteBoolean("fuse_unk", !byteLevel);
        w.WriteBoolean("byte_fallback", !byteLevel);
        w.WriteBoolean("ignore_merges", byteLevel && PreTokenizerPatterns.IgnoresMerges(spec.Pre));

        // JSON object keys must be unique: the first id of a repeated string keeps it (unused
        // placeholders may repeat); the others stay reachable only as added tokens if they are special.
        w.WriteStartObject("vocab");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var id = 0; id < spec.Tokens.Count; id++)
        {
            if (seen.Add(spec.Tokens[id]))
            {
                w.WriteNumber(spec.Tokens[id], id);
            }
        }

        w.WriteEndObject();

        var merges = spec.Merges.Count > 0 || byteLevel || spec.Scores is null
            ? spec.Merges
            : MergeDerivation.FromScores(spec.Tokens, types, spec.Scores);
        w.WriteStartArray("merges");
        foreach (var merge in merges)
        {
            w.WriteStringValue(merge);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
