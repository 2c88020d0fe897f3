using Folio.Text.Unicode;

namespace Folio.Text.Tests.Unicode;

/// <summary>Folio's own NFC (the process has no ICU), on cases from UAX #15 worked out by hand.</summary>
public sealed class NfcTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]                       // compose a base and an accent
    [InlineData("\u212B", "\u00C5")]                        // singleton: ANGSTROM SIGN -> Å
    [InlineData("a\u0323\u0302", "\u1EAD")]                 // two marks compose in order
    [InlineData("a\u0302\u0323", "\u1EAD")]                 // canonical reordering first (ccc 220 before 230)
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]            // Hangul L V T -> one syllable
    [InlineData("\uAC00\u11A8", "\uAC01")]                  // Hangul LV + T
    [InlineData("\u0958", "\u0915\u093C")]                  // composition exclusion stays decomposed
    [InlineData("\uFB01", "\uFB01")]                        // compatibility ligature untouched (NFC, not NFKC)
    [InlineData("a\u0301\u0301", "\u00E1\u0301")]           // a second identical mark is blocked
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("\uD834\uDD5E", "\uD834\uDD57\uD834\uDD65")] // musical symbol: excluded composite decomposes
    public void Normalize_gives_the_nfc_form(string input, string expected)
    {
        Assert.Equal(expected, Nfc.Normalize(input));
    }

    [Fact]
    public void Already_normalized_text_is_returned_as_is()
    {
        const string text = "Grüße 你好 🎉";
        Assert.Same(text, Nfc.Normalize(text));
    }
}
