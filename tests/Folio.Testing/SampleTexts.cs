namespace Folio.Testing;

/// <summary>Varied text for round trips and cross-checks: ASCII, contractions, digits, whitespace runs, accents, CJK, emoji.</summary>
public static class SampleTexts
{
    public static readonly string[] All =
    [
        "Hello world",
        "Hello, world! How's it going? I'll be there; we're sure you've seen it, haven't you'd?",
        "  leading spaces, trailing spaces   ",
        "tabs\tand\nnewlines\r\n\n\nand   multiple    spaces",
        "Numbers: 0 7 42 1234567 3.14159 1,000,000 and 2025-11-24T21:52:18Z",
        "Ünïcödé façade naïve café résumé — “quotes” ‘single’ … €100",
        "日本語のテキストと中文文本，还有한국어 텍스트。",
        "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🇺🇸 and a rocket 🚀!",
        "Mixed: x²+y²=z², ∑ᵢ aᵢ ≤ ∞, Ω ≈ 3.0 × 10⁸ m/s",
        "code: for (int i = 0; i < n; i++) { sum += a[i]; } // done\n    return sum;",
        "CAPS AND'S 'TIS THE SEASON'S END",
        "",
        " ",
        "a",
        "\u00A0non-breaking\u2009thin\u3000ideographic spaces",
        "Ελληνικά και русский язык и العربية و עברית",
    ];
}
