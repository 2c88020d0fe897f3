using System.Globalization;
using System.Text;

namespace Folio.Text.Tokenization;

/// <summary>
/// What one split stage sees of the text: a stand-in with exactly one char per code point (so that
/// all stages share offsets), and the .NET pattern that, run over that stand-in, splits as the
/// original tokenizer's expression splits the original text.
/// </summary>
internal sealed class SplitProxy(string pattern, Func<int, char> standIn)
{
    /// <summary>The .NET pattern to run over <see cref="Render"/>'s output.</summary>
    public string Pattern { get; } = pattern;

    public char[] Render(ReadOnlySpan<int> codePoints)
    {
        var view = new char[codePoints.Length];
        for (var i = 0; i < codePoints.Length; i++)
        {
            view[i] = standIn(codePoints[i]);
        }

        return view;
    }
}

/// <summary>
/// The stand-ins for each dialect. .NET's regex engine sees a character outside the BMP as two
/// surrogates, so every stand-in puts one char in its place; the rest depends on whose semantics
/// a stage reproduces:
/// <list type="bullet">
/// <item>Hugging Face (and llama.cpp's hand-written GPT-2 and Llama 3 splitters): real Unicode
/// classes; a code point outside the BMP becomes a BMP char of the same category.</item>
/// <item>llama.cpp, a stage with \p{..}: its "collapsed" text. ASCII stays, other whitespace becomes
/// \v, any other code point becomes one char per category (0xD1 number, 0xD2 letter, 0xD3
/// punctuation, 0xD4 mark, 0xD5 symbol, 0xD0 the rest), and \p{X} in the pattern becomes that char
/// plus X's ASCII members as llama.cpp lists them (its \p{S} lacks '~': kept, it is what llama.cpp does).</item>
/// <item>llama.cpp, a stage without \p{..}: the code points themselves with non-ASCII whitespace as
/// \v (what it hands std::wregex). Code points outside the BMP that the pattern names (DeepSeek LLM's
/// letter ranges) are mapped to private-use chars, one per interval between the pattern's own
/// boundaries, so ranges keep their exact membership.</item>
/// </list>
/// </summary>
internal static class SplitProxies
{
    private const char CollapsedOther = '\u00D0';
    private const char CollapsedNumber = '\u00D1';
    private const char CollapsedLetter = '\u00D2';
    private const char CollapsedPunctuation = '\u00D3';
    private const char CollapsedMark = '\u00D4';
    private const char CollapsedSymbol = '\u00D5';

    /// <summary>Where the stand-ins for code points outside the BMP start (a real private-use char becomes the one before).</summary>
    private const int PrivateBase = 0xE001;

    public static SplitProxy For(string pattern, RegexDialect dialect)
    {
        if (dialect == RegexDialect.HuggingFace || pattern is PreTokenizerPatterns.Gpt2 or PreTokenizerPatterns.Llama3)
        {
            // llama.cpp has hand-written splitters for exactly these two expressions, with real classes.
            return new SplitProxy(pattern, UnicodeStandIn);
        }

        return pattern.Contains(@"\p{", StringComparison.Ordinal)
            ? new SplitProxy(CollapsePattern(pattern), CollapsedStandIn)
            : WideProxy(pattern);
    }

    /// <summary>A BMP char in the same class as the code point for every Unicode class the patterns use.</summary>
    private static char UnicodeStandIn(int codePoint)
    {
        if (codePoint < 0x10000)
        {
            return (char)codePoint;
        }

        switch (CharUnicodeInfo.GetUnicodeCategory(codePoint))
        {
            case UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter:
                return '\u00AA'; // ª, Lo
            case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
                return '\u00B2'; // ², No (never [0-9])
            case UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
                or UnicodeCategory.OtherPunctuation:
                return '\u00A1'; // ¡, Po
            case UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark:
                return '\u0300'; // combining grave, Mn
            default:
                return '\u00A9'; // ©, So: symbols (emoji), private use, unassigned
        }
    }

    private static bool IsNonAsciiWhitespace(int codePoint) =>
        codePoint is > 0x7F and < 0x10000 && char.IsWhiteSpace((char)codePoint);

    private static char CollapsedStandIn(int codePoint)
    {
        if (codePoint < 0x80)
        {
            return (char)codePoint;
        }

        if (IsNonAsciiWhitespace(codePoint))
        {
            return '\v';
        }

        return CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CollapsedLetter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CollapsedNumber,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
                or UnicodeCategory.OtherPunctuation => CollapsedPunctuation,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CollapsedMark,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => CollapsedSymbol,
            _ => CollapsedOther,
        };
    }

    /// <summary>The members of a collapsed class: its category char and the ASCII members llama.cpp lists.</summary>
    private static string CollapsedClass(char category) => category switch
    {
        'N' => CollapsedNumber + "0-9",
        'L' => CollapsedLetter + "A-Za-z",
        'P' => CollapsedPunctuation + @"!-#%-*,-/:-;?-@\[-\]_\{\}",
        'M' => CollapsedMark.ToString(),
        'S' => CollapsedSymbol + @"\$\+<=>\^`\|",
        _ => throw new TokenizerFormatException($"Pre-tokenizer class \\p{{{category}}} is not one llama.cpp knows (N, L, P, M, S)."),
    };

    private static string CollapsePattern(string pattern)
    {
        var sb = new StringBuilder(pattern.Length * 2);
        var inside = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 4 < pattern.Length && pattern[i + 1] == 'p' && pattern[i + 2] == '{' && pattern[i + 4] == '}')
            {
                var members = CollapsedClass(pattern[i + 3]);
                sb.Append(inside ? members : "[" + members + "]");
                i += 4;
            }
            else if (c == '\\' && i + 1 < pattern.Length)
            {
                sb.Append(c).Append(pattern[i + 1]);
                i++;
            }
            else
            {
                if (c > 0x7F)
                {
                    throw new TokenizerFormatException($"Pre-tokenizer pattern '{pattern}' mixes \\p{{..}} classes with non-ASCII characters, which llama.cpp refuses too.");
                }

                inside = c == '[' || (inside && c != ']');
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static SplitProxy WideProxy(string pattern)
    {
        // The boundaries of the intervals of code points outside the BMP that the pattern tells apart.
        var boundaries = new SortedSet<int>();
        for (var i = 0; i + 1 < pattern.Length; i++)
        {
            if (char.IsHighSurrogate(pattern[i]) && char.IsLowSurrogate(pattern[i + 1]))
            {
                var cp = char.ConvertToUtf32(pattern[i], pattern[i + 1]);
                boundaries.Add(cp);
                boundaries.Add(cp + 1);
                i++;
            }
        }

        var sorted = boundaries.ToArray();
        char Interval(int codePoint)
        {
            var index = Array.BinarySearch(sorted, codePoint);
            var count = index >= 0 ? index + 1 : ~index; // boundaries <= codePoint
            return (char)(PrivateBase + count);
        }

        var translated = new StringBuilder(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (char.IsHighSurrogate(pattern[i]) && i + 1 < pattern.Length && char.IsLowSurrogate(pattern[i + 1]))
            {
                translated.Append(Interval(char.ConvertToUtf32(pattern[i], pattern[i + 1])));
                i++;
            }
            else
            {
                translated.Append(pattern[i]);
            }
        }

        char StandIn(int codePoint)
        {
            if (codePoint >= 0x10000)
            {
                return Interval(codePoint);
            }

            if (codePoint is >= 0xE000 and <= 0xF8FF)
            {
                return (char)(PrivateBase - 1);
            }

            return IsNonAsciiWhitespace(codePoint) ? '\v' : (char)codePoint;
        }

        return new SplitProxy(translated.ToString(), StandIn);
    }
}
