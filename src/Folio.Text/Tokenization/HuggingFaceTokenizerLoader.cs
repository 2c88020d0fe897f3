using System.Text.Json;
using System.Text.RegularExpressions;

namespace Folio.Text.Tokenization;

/// <summary>
/// Reads a Hugging Face folder's tokenizer: tokenizer.json with a BPE model, either byte-level
/// (GPT-2, Llama 3, Qwen2) or SentencePiece-style with byte fallback (Llama 2, Mistral,
/// TinyLlama); else tokenizer.model. Components Folio does not implement are refused by name
/// rather than approximated.
/// </summary>
internal static class HuggingFaceTokenizerLoader
{
    public static ITokenizer Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new TokenizerFormatException($"Model folder '{folder}' does not exist.");
        }

        var config = HuggingFaceConfigFiles.Read(folder);
        var jsonPath = Path.Combine(folder, "tokenizer.json");
        if (File.Exists(jsonPath))
        {
            using var doc = HuggingFaceConfigFiles.OpenOptional(jsonPath)!;
            return FromTokenizerJson(doc.RootElement, jsonPath, config);
        }

        var modelPath = Path.Combine(folder, "tokenizer.model");
        if (File.Exists(modelPath))
        {
            return FromSentencePieceModel(SentencePieceModelReader.Read(modelPath), modelPath, config);
        }

        throw new TokenizerFormatException($"'{folder}' has neither tokenizer.json nor tokenizer.model; the model folder must carry its tokenizer.");
    }

    /// <summary>Builds a tokenizer from tokenizer.json text (<paramref name="source"/> names it in errors).</summary>
    public static ITokenizer FromTokenizerJsonText(string json, string source, HuggingFaceConfigFiles? config = null)
    {
        using var doc = JsonDocument.Parse(json);
        return FromTokenizerJson(doc.RootElement, source, config ?? new HuggingFaceConfigFiles(null, null, null, null, [], []));
    }

    private static ITokenizer FromTokenizerJson(JsonElement root, string path, HuggingFaceConfigFiles config)
    {
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerFormatException($"'{path}' has no \"model\" object.");
        }

        var modelType = model.TryGetProperty("type", out var t) ? t.GetString() : "BPE";
        if (modelType != "BPE")
        {
            throw new TokenizerFormatException($"'{path}': model.type '{modelType}' is not supported; Folio reads BPE tokenizers (byte-level or with byte_fallback).");
        }

        if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerFormatException($"'{path}': model.vocab is missing.");
        }

        var byId = new Dictionary<int, string>();
        foreach (var entry in vocabJson.EnumerateObject())
        {
            byId[entry.Value.GetInt32()] = entry.Name;
        }

        var added = new List<(int Id, string Content, bool Special)>();
        if (root.TryGetProperty("added_tokens", out var addedJson) && addedJson.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in addedJson.EnumerateArray())
            {
                var content = a.GetProperty("content").GetString() ?? "";
                var special = a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                added.Add((a.GetProperty("id").GetInt32(), content, special));
                byId[a.GetProperty("id").GetInt32()] = content;
            }
        }

        if (byId.Count == 0 || byId.Keys.Min() < 0)
        {
            throw new TokenizerFormatException($"'{path}': model.vocab is empty or has negative ids.");
        }

        var count = byId.Keys.Max() + 1;
        var tokens = new string[count];
        var types = new int[count];
        for (var id = 0; id < count; id++)
        {
            if (byId.TryGetValue(id, out var text))
            {
                tokens[id] = text;
                types[id] = GgufTokenType.Normal;
            }
            else
            {
                tokens[id] = "";
                types[id] = GgufTokenType.Unused; // a hole in the id space
            }
        }

        var byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        var unkToken = model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String ? unk.GetString() : null;
        var ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        var merges = ReadMerges(model, path);

        foreach (var (id, content, special) in added)
        {
            types[id] = content == unkToken ? GgufTokenType.Unknown : special ? GgufTokenType.Control : GgufTokenType.UserDefined;
        }

        var normalizer = root.TryGetProperty("normalizer", out var n) ? n : default;
        var preTokenizer = root.TryGetProperty("pre_tokenizer", out var p) ? p : default;
        var decoder = root.TryGetProperty("decoder", out var d) ? d : default;
        var byteLevel = HasComponent(preTokenizer, "ByteLevel") || HasComponent(decoder, "ByteLevel");

        var (bos, addBos, eos) = ResolveSpecialTokens(root, tokens, config, defaultAddBos: !byteLevel);
        if (byteLevel)
        {
            var stages = new List<string>();
            var addPrefixSpace = false;
            CollectByteLevelStages(preTokenizer, stages, ref addPrefixSpace, path);
            return new ByteLevelBpeTokenizer(new ByteLevelBpeOptions(
                tokens, types, merges, stages, ignoreMerges, ByteLevelNormalization(normalizer, path), addPrefixSpace, bos, eos, addBos));
        }

        var spaceMarked = byteFallback || HasComponent(normalizer, "Prepend") || HasComponent(normalizer, "Replace") || HasComponent(preTokenizer, "Metaspace");
        if (!spaceMarked)
        {
            throw new TokenizerFormatException($"'{path}': a BPE model that is neither byte-level (ByteLevel pre_tokenizer/decoder) nor SentencePiece-style (byte_fallback, Metaspace) is not supported.");
        }

        if (byteFallback)
        {
            for (var id = 0; id < count; id++)
            {
                if (types[id] == GgufTokenType.Normal && SentencePieceBpeTokenizer.TryParseByteToken(tokens[id], out _))
                {
                    types[id] = GgufTokenType.Byte;
                }
            }
        }

        var (prefix, split) = SentencePieceSpacing(normalizer, preTokenizer, path);
        return new SentencePieceBpeTokenizer(new SentencePieceOptions(tokens, types, null, merges, prefix, split, bos, eos, addBos));
    }

    private static ITokenizer FromSentencePieceModel(SentencePieceModel sp, string path, HuggingFaceConfigFiles config)
    {
        if (sp.ModelType != SentencePieceModelReader.ModelTypeBpe)
        {
            throw new TokenizerFormatException($"'{path}' is a SentencePiece model of type {sp.ModelType} (1 = unigram); Folio reads only BPE (type 2) SentencePiece models.");
        }

        var tokens = sp.Pieces;
        int? Lookup(string? text) => text is null ? null : IndexOf(tokens, text);
        var bos = Lookup(config.BosToken) ?? config.ConfigBosId ?? (sp.BosId >= 0 ? sp.BosId : null);
        var eos = EosIds(config, Lookup(config.EosToken));
        if (eos.Count == 0 && sp.EosId >= 0)
        {
            eos = [sp.EosId];
        }

        var addBos = config.AddBosToken ?? true;
        return new SentencePieceBpeTokenizer(new SentencePieceOptions(
            tokens, sp.Types, sp.Scores, null, sp.AddDummyPrefix ? SpacePrefixMode.Always : SpacePrefixMode.Never, SplitOnSpace: false,
            bos, eos, addBos));
    }

    private static (int? Bos, bool AddBos, IReadOnlyList<int> Eos) ResolveSpecialTokens(JsonElement root, string[] tokens, HuggingFaceConfigFiles config, bool defaultAddBos)
    {
        int? Lookup(string? text) => text is null ? null : IndexOf(tokens, text);
        var templateBos = TemplateBos(root, out var hasTemplate);
        var bos = Lookup(config.BosToken) ?? templateBos ?? config.ConfigBosId;

        // tokenizer_config.json's add_bos_token wins (transformers rewrites the post-processor from
        // it); else the post-processor's template says; else the model family's habit.
        var addBos = config.AddBosToken ?? (hasTemplate ? templateBos is not null : defaultAddBos);

        var eos = EosIds(config, Lookup(config.EosToken));
        if (eos.Count == 0)
        {
            // No config names one: the conventional end token of the vocabulary, if it has one.
            var guess = Lookup("</s>") ?? Lookup("<|endoftext|>");
            eos = guess is int g ? [g] : [];
        }

        return (bos, addBos && bos is not null, eos);
    }

    private static IReadOnlyList<int> EosIds(HuggingFaceConfigFiles config, int? fromTokenizerConfig)
    {
        var ids = new List<int>();
        if (fromTokenizerConfig is int e)
        {
            ids.Add(e);
        }

        foreach (var id in config.GenerationEosIds.Concat(config.ConfigEosIds))
        {
            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    private static int? IndexOf(IReadOnlyList<string> tokens, string text)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] == text)
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>The special token a TemplateProcessing puts before sequence A, if any.</summary>
    private static int? TemplateBos(JsonElement root, out bool hasTemplate)
    {
        hasTemplate = false;
        if (!root.TryGetProperty("post_processor", out var pp) || pp.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var processor in Flatten(pp, "processors"))
        {
            if (Type(processor) != "TemplateProcessing" || !processor.TryGetProperty("single", out var single))
            {
                continue;
            }

            hasTemplate = true;
            foreach (var piece in single.EnumerateArray())
            {
                if (piece.TryGetProperty("Sequence", out _))
                {
                    return null; // the sequence comes first: no BOS
                }

                if (piece.TryGetProperty("SpecialToken", out var st))
                {
                    var name = st.GetProperty("id").GetString();
                    if (name is not null && processor.TryGetProperty("special_tokens", out var specials)
                        && specials.TryGetProperty(name, out var entry) && entry.TryGetProperty("ids", out var ids)
                        && ids.GetArrayLength() > 0)
                    {
                        return ids[0].GetInt32();
                    }
                }
            }
        }

        return null;
    }

    private static List<string> ReadMerges(JsonElement model, string path)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var mergesJson) || mergesJson.ValueKind != JsonValueKind.Array)
        {
            return merges;
        }

        foreach (var m in mergesJson.EnumerateArray())
        {
            switch (m.ValueKind)
            {
                case JsonValueKind.String:
                    merges.Add(m.GetString()!);
                    break;
                case JsonValueKind.Array when m.GetArrayLength() == 2:
                    merges.Add(m[0].GetString() + " " + m[1].GetString());
                    break;
                default:
                    throw new TokenizerFormatException($"'{path}': model.merges entry {merges.Count} is neither \"a b\" nor [\"a\", \"b\"].");
            }
        }

        return merges;
    }

    private static TextNormalization ByteLevelNormalization(JsonElement normalizer, string path)
    {
        var result = TextNormalization.None;
        foreach (var part in Flatten(normalizer, "normalizers"))
        {
            result = Type(part) switch
            {
                "NFC" => TextNormalization.Nfc,
                var other => throw new TokenizerFormatException($"'{path}': normalizer '{other}' is not supported with a byte-level BPE model (supported: NFC)."),
            };
        }

        return result;
    }

    private static void CollectByteLevelStages(JsonElement preTokenizer, List<string> stages, ref bool addPrefixSpace, string path)
    {
        foreach (var part in Flatten(preTokenizer, "pretokenizers"))
        {
            switch (Type(part))
            {
                case "ByteLevel":
                    addPrefixSpace |= part.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True;
                    if (!part.TryGetProperty("use_regex", out var useRegex) || useRegex.ValueKind != JsonValueKind.False)
                    {
                        stages.Add(PreTokenizerPatterns.Gpt2);
                    }

                    break;
                case "Split":
                    var behavior = part.TryGetProperty("behavior", out var b) ? b.GetString() : "Isolated";
                    var invert = part.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                    if (behavior != "Isolated" || invert)
                    {
                        throw new TokenizerFormatException($"'{path}': pre_tokenizer Split with behavior '{behavior}' (invert {invert}) is not supported; Folio implements Isolated splits.");
                    }

                    var pattern = part.GetProperty("pattern");
                    stages.Add(pattern.TryGetProperty("Regex", out var regex) ? regex.GetString()!
                        : Regex.Escape(pattern.GetProperty("String").GetString()!));
                    break;
                case "Digits":
                    var individual = part.TryGetProperty("individual_digits", out var ind) && ind.ValueKind == JsonValueKind.True;
                    stages.Add(individual ? @"\p{N}" : @"\p{N}+");
                    break;
                case var other:
                    throw new TokenizerFormatException($"'{path}': pre_tokenizer '{other}' is not supported with a byte-level BPE model (supported: ByteLevel, Split, Digits, Sequence).");
            }
        }
    }

    private static (SpacePrefixMode Prefix, bool Split) SentencePieceSpacing(JsonElement normalizer, JsonElement preTokenizer, string path)
    {
        var prefix = SpacePrefixMode.Never;
        var split = false;
        var spacesReplaced = false;
        foreach (var part in Flatten(normalizer, "normalizers"))
        {
            switch (Type(part))
            {
                case "Prepend" when part.GetProperty("prepend").GetString() == "\u2581":
                    prefix = SpacePrefixMode.Always;
                    break;
                case "Replace" when ReplacesSpaceWithMark(part):
                    spacesReplaced = true;
                    break;
                case var other:
                    throw new TokenizerFormatException($"'{path}': normalizer '{other}' is not supported with a SentencePiece-style model (supported: Prepend '▁', Replace ' ' -> '▁').");
            }
        }

        foreach (var part in Flatten(preTokenizer, "pretokenizers"))
        {
            if (Type(part) == "Split" && spacesReplaced && SplitsOnSpace(part))
            {
                // Gemma 3: the normalizer has already written every ' ' as '▁', so a split on ' '
                // finds nothing to cut whatever its behavior: the text stays one word.
                continue;
            }

            if (Type(part) != "Metaspace")
            {
                throw new TokenizerFormatException($"'{path}': pre_tokenizer '{Type(part)}' is not supported with a SentencePiece-style model (supported: Metaspace, and Split on ' ' after a Replace ' ' -> '▁' normalizer).");
            }

            var scheme = part.TryGetProperty("prepend_scheme", out var ps) ? ps.GetString()
                : part.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.False ? "never" : "always";
            prefix = scheme switch
            {
                "always" => SpacePrefixMode.Always,
                "first" => SpacePrefixMode.First,
                _ => SpacePrefixMode.Never,
            };
            split = !part.TryGetProperty("split", out var sp) || sp.ValueKind != JsonValueKind.False;
        }

        return (prefix, split);
    }

    private static bool SplitsOnSpace(JsonElement split) =>
        split.TryGetProperty("pattern", out var pattern) && pattern.TryGetProperty("String", out var s) && s.GetString() == " ";

    private static bool ReplacesSpaceWithMark(JsonElement replace) =>
        replace.TryGetProperty("pattern", out var pattern) && pattern.TryGetProperty("String", out var s) && s.GetString() == " "
        && replace.TryGetProperty("content", out var content) && content.GetString() == "\u2581";

    private static string? Type(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var t) ? t.GetString() : null;

    /// <summary>A component and, for a "Sequence", its parts in order; nothing for null.</summary>
    private static IEnumerable<JsonElement> Flatten(JsonElement element, string listKey)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        if (Type(element) == "Sequence" && element.TryGetProperty(listKey, out var parts))
        {
            foreach (var part in parts.EnumerateArray())
            {
                foreach (var inner in Flatten(part, listKey))
                {
                    yield return inner;
                }
            }
        }
        else
        {
            yield return element;
        }
    }

    private static bool HasComponent(JsonElement element, string type)
    {
        foreach (var key in new[] { "normalizers", "pretokenizers", "decoders", "processors" })
        {
            if (Flatten(element, key).Any(e => Type(e) == type))
            {
                return true;
            }
        }

        return false;
    }
}
