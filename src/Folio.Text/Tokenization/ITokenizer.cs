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
}
