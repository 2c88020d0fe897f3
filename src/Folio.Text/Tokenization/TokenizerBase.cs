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
        var output = new List<int>(text.Length / 3 + 2);
        if (addSpecialTokens && AddBosToken)
        {
            output.Add(BosTokenId!.Value);
        }

        var pieces = new List<(int Start, int Length, int Id)>();
        Special.Split(text, pieces);
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
