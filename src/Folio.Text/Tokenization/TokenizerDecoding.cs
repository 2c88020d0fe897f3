using System.Text;

namespace Folio.Text.Tokenization;

/// <summary>Whole-sequence decoding built on <see cref="ITokenizer.TokenBytes"/> (for tools and tests; streaming uses the incremental detokenizer).</summary>
public static class TokenizerDecoding
{
    /// <summary>The bytes of the ids' tokens, concatenated; special tokens add nothing.</summary>
    public static byte[] DecodeBytes(this ITokenizer tokenizer, IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(ids);
        var buffer = new List<byte>();
        foreach (var id in ids)
        {
            foreach (var b in tokenizer.TokenBytes(id))
            {
                buffer.Add(b);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The text of the ids. SentencePiece tokenizers keep the '▁' they prepended as a leading
    /// space here, as the raw token bytes have it.
    /// </summary>
    public static string Decode(this ITokenizer tokenizer, IEnumerable<int> ids) => Encoding.UTF8.GetString(tokenizer.DecodeBytes(ids));
}
