using System.Text;

namespace Folio.Engine.Tokenization;

/// <summary>Unicode normalization a tokenizer applies to raw text before splitting (Qwen2: NFC).</summary>
public enum TextNormalization
{
    None,
    Nfc,
    Nfkc,
}

internal static class TextNormalizationExtensions
{
    public static ReadOnlySpan<char> Apply(this TextNormalization normalization, ReadOnlySpan<char> text)
    {
        var form = normalization switch
        {
            TextNormalization.Nfc => NormalizationForm.FormC,
            TextNormalization.Nfkc => NormalizationForm.FormKC,
            _ => (NormalizationForm?)null,
        };
        if (form is null || System.Text.Ascii.IsValid(text))
        {
            return text;
        }

        return text.ToString().Normalize(form.Value);
    }
}
