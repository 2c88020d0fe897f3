namespace Folio.Text.Tokenization;

/// <summary>
/// A tokenizer file or vocabulary that cannot be used; the message names the file or field and
/// what is wrong. Model loaders turn it into their own load error, naming the model.
/// </summary>
public sealed class TokenizerFormatException : Exception
{
    public TokenizerFormatException(string message)
        : base(message)
    {
    }

    public TokenizerFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
