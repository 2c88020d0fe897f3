using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Folio.Text.Tokenization;

/// <summary>Whose regular-expression semantics a splitter reproduces.</summary>
public enum RegexDialect
{
    /// <summary>Hugging Face tokenizers: Unicode classes over whole code points.</summary>
    HuggingFace,

    /// <summary>
    /// llama.cpp's unicode_regex_split: a stage with \p{..} classes runs over a "collapsed" text
    /// (one byte per code point: ASCII kept, other code points replaced by their category), any
    /// other stage over the code points with non-ASCII whitespace replaced by \v. See
    /// <see cref="SplitProxies"/>.
    /// </summary>
    LlamaCpp,
}

/// <summary>
/// Splits text into words with a sequence of expressions: each expression splits every piece the
/// previous one produced, and both its matches and the text between them become pieces (Hugging
/// Face's Split with behavior "Isolated", llama.cpp's unicode_regex_split).
/// </summary>
internal sealed class RegexSplitter
{
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    private readonly Regex[] _stages;
    private readonly SplitProxy[] _proxies;

    public RegexSplitter(IReadOnlyList<string> patterns, RegexDialect dialect = RegexDialect.HuggingFace)
    {
        Patterns = patterns;
        Dialect = dialect;
        _proxies = patterns.Select(p => SplitProxies.For(p, dialect)).ToArray();
        _stages = _proxies
            .Select(p => Compiled.GetOrAdd(p.Pattern, static q => new Regex(q, RegexOptions.CultureInvariant | RegexOptions.Compiled)))
            .ToArray();
    }

    public IReadOnlyList<string> Patterns { get; }

    public RegexDialect Dialect { get; }

    /// <summary>Appends (start, length) of each word of <paramref name="text"/> to <paramref name="words"/>.</summary>
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> words, List<(int Start, int Length)> scratch)
    {
        if (System.Text.Ascii.IsValid(text))
        {
            // Every proxy leaves ASCII as it is: one text serves all stages.
            SplitCore(text, null, words, scratch);
            return;
        }

        // The patterns run over stand-in texts with one char per code point (what a stage sees of
        // each code point depends on the stage: see SplitProxy), and the pieces are mapped back to
        // the original UTF-16 offsets.
        var codePoints = new int[text.Length];
        var offsets = new int[text.Length + 1];
        var n = 0;
        for (var i = 0; i < text.Length; n++)
        {
            offsets[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                codePoints[n] = char.ConvertToUtf32(text[i], text[i + 1]);
                i += 2;
            }
            else
            {
                codePoints[n] = text[i];
                i++;
            }
        }

        offsets[n] = text.Length;
        var views = new char[_stages.Length][];
        for (var s = 0; s < _stages.Length; s++)
        {
            views[s] = _proxies[s].Render(codePoints.AsSpan(0, n));
        }

        SplitCore(views[0], views, words, scratch);
        for (var w = 0; w < words.Count; w++)
        {
            var (start, length) = words[w];
            words[w] = (offsets[start], offsets[start + length] - offsets[start]);
        }
    }

    private void SplitCore(ReadOnlySpan<char> single, char[][]? perStage, List<(int Start, int Length)> words, List<(int Start, int Length)> scratch)
    {
        words.Clear();
        if (single.IsEmpty)
        {
            return;
        }

        words.Add((0, single.Length));
        for (var s = 0; s < _stages.Length; s++)
        {
            var stage = _stages[s];
            var text = perStage is null ? single : perStage[s];
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
