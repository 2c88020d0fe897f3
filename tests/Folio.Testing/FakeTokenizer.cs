using System.Text;
using Folio.Text.Tokenization;

namespace Folio.Testing;

/// <summary>
/// A byte-level tokenizer for tests: id 0 is BOS, id 1 is EOS (both special, no bytes), ids
/// 2..257 are the single bytes 0..255, and ids from 258 are the extra strings given (each may
/// hold several characters or a part of one, as raw bytes).
/// </summary>
public sealed class FakeTokenizer : ITokenizer
{
    public const int Bos = 0;
    public const int Eos = 1;
    private readonly byte[][] _tokens;

    public FakeTokenizer(int vocabSize = 300, params byte[][] extra)
    {
        var list = new List<byte[]> { Array.Empty<byte>(), Array.Empty<byte>() };
        for (int b = 0; b < 256; b++)
        {
            list.Add([(byte)b]);
        }

        list.AddRange(extra);
        while (list.Count < vocabSize)
        {
            // Filler tokens: two ASCII letters each, so random generations make readable text.
            int i = list.Count;
            list.Add([(byte)('a' + (i % 26)), (byte)('a' + (i / 26 % 26))]);
        }

        _tokens = [.. list];
    }

    public static int Byte(byte b) => b + 2;

    public int VocabSize => _tokens.Length;
    public int? BosTokenId => Bos;
    public IReadOnlyList<int> EosTokenIds => [Eos];
    public bool AddBosToken => false;

    public int[] Encode(string text, bool addSpecialTokens) => Encoding.UTF8.GetBytes(text).Select(b => Byte(b)).ToArray();

    public ReadOnlySpan<byte> TokenBytes(int tokenId) => _tokens[tokenId];

    public string TokenText(int tokenId) => Encoding.UTF8.GetString(_tokens[tokenId]);

    public bool IsSpecial(int tokenId) => tokenId is Bos or Eos;

    /// <summary>The text of a token sequence decoded in one go (the reference for incremental decoding).</summary>
    public string DecodeAll(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(t => _tokens[t]).ToArray());
}
