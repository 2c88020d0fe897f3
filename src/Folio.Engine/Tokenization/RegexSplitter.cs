using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Folio.Engine.Tokenization;

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
