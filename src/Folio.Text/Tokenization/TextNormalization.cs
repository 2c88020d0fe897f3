namespace Folio.Text.Tokenization;

/// <summary>
/// Unicode normalization a tokenizer.json asks for before splitting (Qwen2 and Qwen3: NFC).
/// Folio's build runs with invariant globalization, where string.Normalize returns its input, so
/// NFC is Folio's own (<see cref="Unicode.Nfc"/>); NFKC is refused at load rather than ignored.
/// </summary>
public enum TextNormalization
{
    None,
    Nfc,
}

internal static class TextNormalizationExtensions
{
    public static ReadOnlySpan<char> Apply(this TextNormalization normalization, ReadOnlySpan<char> text)
    {
        if (normalization == TextNormalization.None || System.Text.Ascii.IsValid(text))
        {
            return text;
        }

        return Unicode.Nfc.Normalize(text.ToString());
    }
}
