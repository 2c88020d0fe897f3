namespace Folio.Text.Tokenization;

/// <summary>
/// Text to token ids and back. Decoding is defined byte-wise (<see cref="TokenBytes"/>) so that the
/// incremental detokenizer can emit only complete UTF-8 characters and the deltas always
/// concatenate to the full text.
/// </summary>
public interface ITokenizer
{
    int VocabSize { get; }

    int? BosTokenId { get; }

    IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Whether <see cref="Encode"/> with addSpecialTokens=true prepends BOS (from the model's files).</summary>
    bool AddBosToken { get; }

    /// <summary>Encodes text; with addSpecialTokens the model's BOS rule applies.</summary>
    int[] Encode(string text, bool addSpecialTokens);

    /// <summary>
    /// The bytes this token contributes to decoded text: UTF-8, possibly a partial character (byte
    /// fallback and byte-level BPE split characters). Special and control tokens contribute nothing.
    /// </summary>
    ReadOnlySpan<byte> TokenBytes(int tokenId);

    /// <summary>A printable form of one token for logprob maps (its decoded text, lossy for partial characters).</summary>
    string TokenText(int tokenId);

    /// <summary>Whether the id is a special/control token (never part of decoded text).</summary>
    bool IsSpecial(int tokenId);

    /// <summary>
    /// Where <see cref="Encode"/> would match a special/control token (<see cref="IsSpecial"/>) as a
    /// whole string in <paramref name="text"/>, in order. Chat prompts use it to keep such text in
    /// message content from becoming a control token (ContentSpecialTokens plain). This default scans
    /// the vocabulary on every call; tokenizers with a matcher of their own answer directly.
    /// </summary>
    IReadOnlyList<TextRange> FindSpecialTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var specials = new List<string>();
        for (var id = 0; id < VocabSize; id++)
        {
            if (IsSpecial(id) && TokenText(id) is { Length: > 0 } tokenText)
            {
                specials.Add(tokenText);
            }
        }

        // Leftmost, then longest, as the tokenizers' own matchers split text.
        specials.Sort((a, b) => b.Length.CompareTo(a.Length));
        var found = new List<TextRange>();
        for (var at = 0; at < text.Length;)
        {
            var match = specials.Find(t => text.AsSpan(at).StartsWith(t, StringComparison.Ordinal));
            if (match is null)
            {
                at++;
                continue;
            }

            found.Add(new TextRange(at, match.Length));
            at += match.Length;
        }

        return found;
    }

    /// <summary>
    /// Encodes without adding BOS/EOS, as <see cref="Encode"/> with addSpecialTokens=false, except that
    /// text inside <paramref name="plainRanges"/> is ordinary text: no whole-string token (control or
    /// user-defined) is matched in it or across its edges, so it is split by the normal BPE rules.
    /// A tokenizer that cannot do this refuses a non-empty list rather than encode it wrongly.
    /// </summary>
    int[] EncodeWithPlainRanges(string text, IReadOnlyList<TextRange> plainRanges)
    {
        ArgumentNullException.ThrowIfNull(plainRanges);
        return plainRanges.Count == 0
            ? Encode(text, addSpecialTokens: false)
            : throw new NotSupportedException($"{GetType().Name} cannot encode special-token text as ordinary text; use ContentSpecialTokens parse with this tokenizer.");
    }
}

/// <summary>A span of a string: <see cref="Length"/> UTF-16 units from <see cref="Start"/>.</summary>
public readonly record struct TextRange(int Start, int Length)
{
    public int End => Start + Length;
}
