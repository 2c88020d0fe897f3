using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Folio.Text.Tokenization;

/// <summary>
/// Splits text into words with a sequence of expressions: each expression splits every piece the
/// previous one produced, and both its matches and the text between them become pieces (Hugging
/// Face's Split with behavior "Isolated", llama.cpp's unicode_regex_split).
/// </summary>
internal sealed class RegexSplitter
{
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    private readonly Regex[] _stages;

    public RegexSplitter(IReadOnlyList<string> patterns)
    {
        Patterns = patterns;
        _stages = patterns
            .Select(p => Compiled.GetOrAdd(p, static q => new Regex(q, RegexOptions.CultureInvariant | RegexOptions.Compiled)))
            .ToArray();
    }

    public IReadOnlyList<string> Patterns { get; }

    /// <summary>Appends (start, length) of each word of <paramref name="text"/> to <paramref name="words"/>.</summary>
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> words, List<(int Start, int Length)> scratch)
    {
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            SplitCore(text, words, scratch);
            return;
        }

        // .NET's regex engine sees a character outside the BMP as two surrogates, which are neither
        // \p{L} nor \p{N}; the tokenizers these patterns come from see one code point of its real
        // category. So the patterns run over a stand-in text with one BMP character of the same
        // class per code point, and the pieces are mapped back to the original offsets.
        var proxy = new char[text.Length];
        var offsets = new int[text.Length + 1];
        var n = 0;
        for (var i = 0; i < text.Length; n++)
        {
            offsets[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                proxy[n] = StandIn(char.ConvertToUtf32(text[i], text[i + 1]));
                i += 2;
            }
            else
            {
                proxy[n] = text[i];
                i++;
            }
        }

        offsets[n] = text.Length;
        SplitCore(proxy.AsSpan(0, n), words, scratch);
        for (var w = 0; w < words.Count; w++)
        {
            var (start, length) = words[w];
            words[w] = (offsets[start], offsets[start + length] - offsets[start]);
        }
    }

    /// <summary>A BMP character in the same class as the code point for every pattern Folio uses (letter, number, punctuation, mark, other).</summary>
    private static char StandIn(int codePoint)
    {
        switch (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(codePoint))
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

    private void SplitCore(ReadOnlySpan<char> text, List<(int Start, int Length)> words, List<(int Start, int Length)> scratch)
    {
        words.Clear();
        if (text.IsEmpty)
        {
            return;
        }

        words.Add((0, text.Length));
        foreach (var stage in _stages)
        {
            scratch.Clear();
            foreach (var (start, length) in words)
            {
                var piece = text.Slice(start, length);
                var done = 0;
                foreach (var match in stage.EnumerateMatches(piece))
                {
                    if (match.Length == 0)
                    {
                        continue;
                    }

                    if (match.Index > done)
                    {
                        scratch.Add((start + done, match.Index - done));
                    }

                    scratch.Add((start + match.Index, match.Length));
                    done = match.Index + match.Length;
                }

                if (done < length)
                {
                    scratch.Add((start + done, length - done));
                }
            }

            words.Clear();
            words.AddRange(scratch);
        }
    }
}
