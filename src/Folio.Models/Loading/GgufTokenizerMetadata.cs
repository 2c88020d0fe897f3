using Folio.Text.Chat;
using Folio.Text.Tokenization;

namespace Folio.Models.Loading;

/// <summary>
/// tokenizer.ggml.* metadata to <see cref="TokenizerSpec"/>, with the keys and defaults
/// llama.cpp uses (a "gpt2" vocabulary needs merges and a pre-tokenizer name there).
/// </summary>
public static class GgufTokenizerMetadata
{
    public static TokenizerSpec Read(string path, IReadOnlyDictionary<string, GgufValue> md)
    {
        string model = Get(path, md, "tokenizer.ggml.model", "a tokenizer (\"gpt2\" or \"llama\")", v => v.AsString());
        if (model is not ("gpt2" or "llama"))
        {
            throw new ModelFormatException($"{path}: tokenizer.ggml.model \"{model}\" is not supported; Folio reads \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece) vocabularies");
        }

        string[] tokens = Get(path, md, "tokenizer.ggml.tokens", "the token list", v => v.AsArray().AsStrings());
        float[]? scores = Optional(path, md, "tokenizer.ggml.scores", v => v.AsArray().AsFloats());
        int[] types = Optional(path, md, "tokenizer.ggml.token_type", v => v.AsArray().AsInts()) ?? Enumerable.Repeat(1, tokens.Length).ToArray();
        string[] merges = Optional(path, md, "tokenizer.ggml.merges", v => v.AsArray().AsStrings()) ?? [];
        if (scores is not null && scores.Length != tokens.Length)
        {
            throw new ModelFormatException($"{path}: tokenizer.ggml.scores has {scores.Length} entries; expected one per token ({tokens.Length})");
        }

        if (types.Length != tokens.Length)
        {
            throw new ModelFormatException($"{path}: tokenizer.ggml.token_type has {types.Length} entries; expected one per token ({tokens.Length})");
        }

        int? bos = OptionalId(path, md, "tokenizer.ggml.bos_token_id", tokens.Length);
        var eos = new List<int>();
        foreach (string key in new[] { "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id" })
        {
            if (OptionalId(path, md, key, tokens.Length) is int id && !eos.Contains(id))
            {
                eos.Add(id);
            }
        }

        // llama.cpp's defaults: SentencePiece vocabularies add BOS, byte-level BPE ones do not.
        bool addBos = Optional(path, md, "tokenizer.ggml.add_bos_token", v => (bool?)v.AsBool()) ?? model == "llama";
        string? pre = Optional(path, md, "tokenizer.ggml.pre", v => v.AsString());
        return new TokenizerSpec(model, tokens, scores, types, merges, bos, eos, addBos, pre)
        {
            ModelName = Optional(path, md, "general.name", v => v.AsString()),
            AddSpacePrefix = Optional(path, md, "tokenizer.ggml.add_space_prefix", v => (bool?)v.AsBool()) ?? true,
        };
    }

    /// <summary>
    /// The special-token strings llama.cpp hands chat templates: the text of the tokens that
    /// tokenizer.ggml.bos_token_id, eos_token_id, unknown_token_id, seperator_token_id (llama.cpp's
    /// spelling), padding_token_id, cls_token_id and mask_token_id name.
    /// </summary>
    public static SpecialTokenStrings ReadSpecialTokens(string path, IReadOnlyDictionary<string, GgufValue> md, TokenizerSpec spec)
    {
        string? Text(string key) => OptionalId(path, md, key, spec.Tokens.Count) is int id ? spec.Tokens[id] : null;
        return new SpecialTokenStrings
        {
            BosToken = Text("tokenizer.ggml.bos_token_id"),
            EosToken = Text("tokenizer.ggml.eos_token_id"),
            UnkToken = Text("tokenizer.ggml.unknown_token_id"),
            SepToken = Text("tokenizer.ggml.seperator_token_id"),
            PadToken = Text("tokenizer.ggml.padding_token_id"),
            ClsToken = Text("tokenizer.ggml.cls_token_id"),
            MaskToken = Text("tokenizer.ggml.mask_token_id"),
        };
    }

    /// <summary>The chat template of tokenizer.chat_template and tokenizer.chat_template.NAME (llama.cpp's named variants), or null when the file has none.</summary>
    public static ChatTemplate? ReadChatTemplate(string path, IReadOnlyDictionary<string, GgufValue> md, SpecialTokenStrings specialTokens)
    {
        const string prefix = ChatTemplateSources.GgufKey + ".";
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in md.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && k.Length > prefix.Length))
        {
            named[key[prefix.Length..]] = Get(path, md, key, "a chat template", v => v.AsString());
        }

        var single = Optional(path, md, ChatTemplateSources.GgufKey, v => v.AsString());
        return ChatTemplateSources.FromGguf(path, single, named, specialTokens);
    }

    private static T Get<T>(string path, IReadOnlyDictionary<string, GgufValue> md, string key, string what, Func<GgufValue, T> read) =>
        Optional(path, md, key, read) ?? throw new ModelFormatException($"{path}: metadata '{key}' is missing; the file must embed {what}");

    private static T? Optional<T>(string path, IReadOnlyDictionary<string, GgufValue> md, string key, Func<GgufValue, T> read)
    {
        if (!md.TryGetValue(key, out var v))
        {
            return default;
        }

        try
        {
            return read(v);
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException)
        {
            throw new ModelFormatException($"{path}: metadata '{key}' has the wrong type ({e.Message})", e);
        }
    }

    private static int? OptionalId(string path, IReadOnlyDictionary<string, GgufValue> md, string key, int vocab)
    {
        long? id = Optional(path, md, key, v => (long?)v.AsLong());
        // llama.cpp writes LLAMA_TOKEN_NULL (-1, stored as u32 0xFFFFFFFF) for "no such token".
        if (id is null or -1 or uint.MaxValue)
        {
            return null;
        }

        if (id < 0 || id >= vocab)
        {
            throw new ModelFormatException($"{path}: metadata '{key}' = {id} is outside the vocabulary of {vocab} tokens");
        }

        return (int)id;
    }
}
