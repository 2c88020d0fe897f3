using System.Text;

namespace Folio.Text.Tokenization;

/// <summary>
/// Unicode normalization a tokenizer.json asks for before splitting (Qwen2: NFC). It relies on
/// .NET's string.Normalize, which needs ICU: in a process running with invariant globalization
/// (Folio's build sets it) it leaves text unchanged. That matches llama.cpp, which does not
/// normalize either, and differs from Hugging Face only on text that is not already composed.
/// </summary>
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
