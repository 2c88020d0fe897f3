namespace Folio.Text.Tokenization;

/// <summary>
/// What llama.cpp decides about a GGUF vocabulary beyond its metadata, so that Folio tokenizes the
/// same file the same way: tokens whose text marks them as end-of-turn or fill-in-the-middle
/// markers are made control tokens, and Phi-3 models (by general.name) get right-strip on their
/// special tokens. llama.cpp keys these on names because GGUF has no per-token attributes yet.
/// </summary>
internal static class LlamaCppVocabRules
{
    private static readonly HashSet<string> ControlByText = new(StringComparer.Ordinal)
    {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<|eom_id|>",
        "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
        "<|fim_prefix|>", "<fim-prefix>", "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>",
        "<|fim_suffix|>", "<fim-suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>",
        "<|fim_middle|>", "<fim-middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>",
        "<|fim_pad|>", "<fim-pad>", "<PAD>",
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
        "<|file_sep|>",
    };

    /// <summary>The token types with llama.cpp's text-based control overrides applied.</summary>
    public static int[] Types(IReadOnlyList<string> tokens, IReadOnlyList<int> types)
    {
        var result = types.ToArray();
        for (var id = 0; id < tokens.Count; id++)
        {
            if (ControlByText.Contains(tokens[id]) && result[id] != GgufTokenType.Control)
            {
                result[id] = GgufTokenType.Control;
            }
        }

        return result;
    }

    /// <summary>The special-token rules for a GGUF vocabulary of the model named <paramref name="modelName"/> (general.name).</summary>
    public static SpecialTokenRules Rules(string? modelName, IReadOnlyList<string> tokens, IReadOnlyList<int> types)
    {
        var name = modelName?.ToLowerInvariant() ?? "";
        if (!name.Contains("phi-3", StringComparison.Ordinal) && !name.Contains("phi3", StringComparison.Ordinal))
        {
            return SpecialTokenRules.LlamaCpp;
        }

        var strip = new Dictionary<int, TokenStrip>();
        for (var id = 0; id < tokens.Count; id++)
        {
            if (GgufTokenType.IsMatchedWhole(types[id]) || tokens[id] == "</s>")
            {
                strip[id] = TokenStrip.Right;
            }
        }

        for (var id = 0; id < tokens.Count; id++)
        {
            if (tokens[id] is "<unk>" or "<s>" or "<|endoftext|>")
            {
                strip.Remove(id);
            }
        }

        return SpecialTokenRules.LlamaCpp with { Strip = strip };
    }
}
