namespace Folio.Text.Tokenization;

/// <summary>
/// Token types as GGUF stores them in tokenizer.ggml.token_type. SentencePiece's ModelProto uses
/// the same numbers for its piece types, which is why one enum serves both.
/// </summary>
public static class GgufTokenType
{
    public const int Undefined = 0;
    public const int Normal = 1;
    public const int Unknown = 2;
    public const int Control = 3;
    public const int UserDefined = 4;
    public const int Unused = 5;
    public const int Byte = 6;

    /// <summary>Tokens that never contribute text when decoding.</summary>
    public static bool IsSpecial(int type) => type is Control or Unknown or Unused;

    /// <summary>Tokens matched as whole strings in the raw text before the BPE model runs.</summary>
    public static bool IsMatchedWhole(int type) => type is Control or UserDefined or Unknown;
}
