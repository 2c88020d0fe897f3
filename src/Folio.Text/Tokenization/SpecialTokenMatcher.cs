using System.Buffers;

namespace Folio.Text.Tokenization;

/// <summary>
/// Finds control and user-defined tokens ("&lt;|endoftext|&gt;", "&lt;s&gt;") in raw text so that they
/// become their own ids instead of being split by BPE. At each position the longest token wins.
/// </summary>
internal sealed class SpecialTokenMatcher
{
    private readonly SearchValues<string>? _search;
    private readonly Dictionary<char, (string Text, int Id)[]> _byFirstChar;

    public SpecialTokenMatcher(IEnumerable<(string Text, int Id)> tokens)
    {
        var list = tokens.Where(t => t.Text.Length > 0).ToList();
        _byFirstChar = list
            .GroupBy(t => t.Text[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Text.Length).ThenBy(t => t.Id).ToArray());
        _search = list.Count == 0 ? null : SearchValues.Create(list.Select(t => t.Text).Distinct().ToArray(), StringComparison.Ordinal);
    }

    public bool IsEmpty => _search is null;

    /// <summary>
    /// Splits text into pieces: (Id >= 0) a matched token, or (Id == -1) raw text at Start/Length.
    /// </summary>
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length, int Id)> pieces)
    {
        pieces.Clear();
        var pos = 0;
        if (_search is not null)
        {
            while (pos < text.Length)
            {
                var rel = text[pos..].IndexOfAny(_search);
                if (rel < 0)
                {
                    break;
                }

                var at = pos + rel;
                var (tokenText, id) = LongestAt(text, at);
                if (at > pos)
                {
                    pieces.Add((pos, at - pos, -1));
                }

                pieces.Add((at, tokenText.Length, id));
                pos = at + tokenText.Length;
            }
        }

        if (pos < text.Length)
        {
            pieces.Add((pos, text.Length - pos, -1));
        }
    }

    private (string Text, int Id) LongestAt(ReadOnlySpan<char> text, int at)
    {
        foreach (var candidate in _byFirstChar[text[at]])
        {
            if (text[at..].StartsWith(candidate.Text, StringComparison.Ordinal))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("SearchValues reported a match that no token starts at.");
    }
}
