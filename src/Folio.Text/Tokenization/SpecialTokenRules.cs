namespace Folio.Text.Tokenization;

/// <summary>Whitespace a special token swallows on each side when it is matched in raw text.</summary>
[Flags]
public enum TokenStrip
{
    None = 0,

    /// <summary>Whitespace just before the token is dropped (Hugging Face lstrip, llama.cpp LSTRIP).</summary>
    Left = 1,

    /// <summary>Whitespace just after the token is dropped (Hugging Face rstrip, llama.cpp RSTRIP).</summary>
    Right = 2,
}

/// <summary>How whole-string tokens are found in raw text.</summary>
internal enum SpecialMatchOrder
{
    /// <summary>Scan left to right; at each position the longest token wins (Hugging Face's added vocabulary).</summary>
    LeftmostLongest,

    /// <summary>
    /// Longest token first over the whole text, then the next longest in what is left (llama.cpp's
    /// tokenizer_st_partition). The two differ only when tokens overlap in the text.
    /// </summary>
    LongestFirst,
}

/// <summary>The matching order and per-token strip attributes of a tokenizer's special tokens.</summary>
/// <param name="UnicodeWhitespace">Strip Unicode whitespace (Hugging Face) rather than ASCII isspace (llama.cpp).</param>
internal sealed record SpecialTokenRules(SpecialMatchOrder Order, IReadOnlyDictionary<int, TokenStrip> Strip, bool UnicodeWhitespace)
{
    public static readonly SpecialTokenRules HuggingFace = new(SpecialMatchOrder.LeftmostLongest, new Dictionary<int, TokenStrip>(), UnicodeWhitespace: true);

    public static readonly SpecialTokenRules LlamaCpp = new(SpecialMatchOrder.LongestFirst, new Dictionary<int, TokenStrip>(), UnicodeWhitespace: false);

    public bool IsStripped(char c) => UnicodeWhitespace ? char.IsWhiteSpace(c) : c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
