using System.Text;

namespace Folio.Text.Tokenization;

/// <summary>
/// What both BPE tokenizers share: the vocabulary, the byte table, special tokens, BOS/EOS and
/// the split of raw text around whole-string tokens.
/// </summary>
internal abstract class TokenizerBase : ITokenizer
{
    private readonly string?[] _textCache;

    protected TokenizerBase(IReadOnlyList<string> tokens, IReadOnlyList<int> tokenTypes, int? bosTokenId, IReadOnlyList<int> eosTokenIds, bool addBosToken, SpecialTokenRules? specials)
    {
        Tokens = tokens;
        TokenTypes = tokenTypes;
        BosTokenId = bosTokenId;
        EosTokenIds = eosTokenIds.ToArray();
        AddBosToken = addBosToken && bosTokenId is not null;
        _textCache = new string?[tokens.Count];
        Special = new SpecialTokenMatcher(
            Enumerable.Range(0, tokens.Count)
                .Where(id => GgufTokenType.IsMatchedWhole(tokenTypes[id]))
                .Select(id => (tokens[id], id)),
            specials);
    }

    public IReadOnlyList<string> Tokens { get; }

    public IReadOnlyList<int> TokenTypes { get; }

    public int VocabSize => Tokens.Count;

    public int? BosTokenId { get; }

    public IReadOnlyList<int> EosTokenIds { get; }

    public bool AddBosToken { get; }

    protected SpecialTokenMatcher Special { get; }

    protected abstract TokenByteTable Bytes { get; }

    public int[] Encode(string text, bool addSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodePieces(text, text, addSpecialTokens);
    }

    public IReadOnlyList<TextRange> FindSpecialTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<(int Start, int Length, int Id)>();
        Special.Split(text, pieces);
        return pieces.Where(p => p.Id >= 0 && IsSpecial(p.Id)).Select(p => new TextRange(p.Start, p.Length)).ToArray();
    }

    public int[] EncodeWithPlainRanges(string text, IReadOnlyList<TextRange> plainRanges)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(plainRanges);
        if (plainRanges.Count == 0)
        {
            return EncodePieces(text, text, addSpecialTokens: false);
        }

        // Whole-string tokens are looked for in a copy where the plain text is blanked out with a
        // noncharacter no token contains, so no match can start, end or lie inside it; the raw
        // pieces are then encoded from the real text.
        var masked = text.ToCharArray();
        foreach (var range in plainRanges)
        {
            if (range.Start < 0 || range.Length < 0 || range.End > text.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(plainRanges), range, $"A plain range must lie inside the text of {text.Length} characters.");
            }

            masked.AsSpan(range.Start, range.Length).Fill('\uFFFF');
        }

        return EncodePieces(new string(masked), text, addSpecialTokens: false);
    }

    /// <summary>Splits <paramref name="matchText"/> around whole-string tokens and encodes the raw pieces from <paramref name="text"/> (same length).</summary>
    private int[] EncodePieces(string matchText, string text, bool addSpecialTokens)
    {
        var output = new List<int>(text.Length / 3 + 2);
        if (addSpecialTokens && AddBosToken)
        {
            output.Add(BosTokenId!.Value);
        }

        var pieces = new List<(int Start, int Length, int Id)>();
        Special.Split(matchText, pieces);
        foreach (var (start, length, id) in pieces)
        {
            if (id >= 0)
            {
                output.Add(id);
            }
            else
            {
                EncodeRaw(text.AsSpan(start, length), start == 0, output);
            }
        }

        return output.ToArray();
    }

    /// <summary>Encodes text that holds no whole-string tokens; <paramref name="atTextStart"/> is true for the piece at offset 0.</summary>
    protected abstract void EncodeRaw(ReadOnlySpan<char> text, bool atTextStart, List<int> output);

    public ReadOnlySpan<byte> TokenBytes(int tokenId) => Bytes.Get(tokenId);

    public bool IsSpecial(int tokenId)
    {
        if ((uint)tokenId >= (uint)Tokens.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, $"Token id must be in [0, {Tokens.Count}).");
        }

        return GgufTokenType.IsSpecial(TokenTypes[tokenId]);
    }

    public string TokenText(int tokenId)
    {
        if (IsSpecial(tokenId))
        {
            return Tokens[tokenId];
        }

        // Benign race: two threads may both compute the same string.
        return _textCache[tokenId] ??= Encoding.UTF8.GetString(TokenBytes(tokenId));
    }
}
