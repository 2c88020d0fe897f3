using System.Buffers;

namespace Folio.Text.Tokenization;

/// <summary>
/// Finds control, user-defined and unknown tokens ("&lt;|endoftext|&gt;", "&lt;s&gt;") in raw text so
/// that they become their own ids instead of being split by BPE, in the order and with the
/// whitespace stripping of <see cref="SpecialTokenRules"/>.
/// </summary>
internal sealed class SpecialTokenMatcher
{
    private readonly SearchValues<string>? _search;
    private readonly Dictionary<char, (string Text, int Id)[]> _byFirstChar;
    private readonly SpecialTokenRules _rules;

    public SpecialTokenMatcher(IEnumerable<(string Text, int Id)> tokens, SpecialTokenRules? rules = null)
    {
        _rules = rules ?? SpecialTokenRules.HuggingFace;
        var list = tokens.Where(t => t.Text.Length > 0).ToList();
        _byFirstChar = list
            .GroupBy(t => t.Text[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Text.Length).ThenBy(t => t.Id).ToArray());
        _search = list.Count == 0 ? null : SearchValues.Create(list.Select(t => t.Text).Distinct().ToArray(), StringComparison.Ordinal);
    }

    public bool IsEmpty => _search is null;

    /// <summary>
    /// Splits text into pieces: (Id >= 0) a matched token, or (Id == -1) raw text at Start/Length.
    /// Whitespace a token strips is in no piece.
    /// </summary>
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length, int Id)> pieces)
    {
        pieces.Clear();
        if (_search is null || text.IndexOfAny(_search) < 0)
        {
            if (!text.IsEmpty)
            {
                pieces.Add((0, text.Length, -1));
            }

            return;
        }

        if (_rules.Order == SpecialMatchOrder.LeftmostLongest)
        {
            SplitLeftmostLongest(text, pieces);
        }
        else
        {
            SplitLongestFirst(text, pieces);
        }
    }

    private TokenStrip StripOf(int id) => _rules.Strip.TryGetValue(id, out var s) ? s : TokenStrip.None;

    private void SplitLeftmostLongest(ReadOnlySpan<char> text, List<(int Start, int Length, int Id)> pieces)
    {
        var pos = 0;
        while (pos < text.Length)
        {
            var rel = text[pos..].IndexOfAny(_search!);
            if (rel < 0)
            {
                break;
            }

            var at = pos + rel;
            var (tokenText, id) = LongestAt(text, at);
            var strip = StripOf(id);
            var rawEnd = at;
            if ((strip & TokenStrip.Left) != 0)
            {
                while (rawEnd > pos && _rules.IsStripped(text[rawEnd - 1]))
                {
                    rawEnd--;
                }
            }

            if (rawEnd > pos)
            {
                pieces.Add((pos, rawEnd - pos, -1));
            }

            pieces.Add((at, tokenText.Length, id));
            pos = at + tokenText.Length;
            if ((strip & TokenStrip.Right) != 0)
            {
                while (pos < text.Length && _rules.IsStripped(text[pos]))
                {
                    pos++;
                }
            }
        }

        if (pos < text.Length)
        {
            pieces.Add((pos, text.Length - pos, -1));
        }
    }

    private void SplitLongestFirst(ReadOnlySpan<char> text, List<(int Start, int Length, int Id)> pieces)
    {
        // Only the tokens that occur somewhere take part; then, longest first, each one cuts every
        // raw fragment left so far at each of its occurrences.
        var candidates = new HashSet<(string Text, int Id)>();
        var pos = 0;
        while (pos < text.Length)
        {
            var rel = text[pos..].IndexOfAny(_search!);
            if (rel < 0)
            {
                break;
            }

            var at = pos + rel;
            foreach (var candidate in _byFirstChar[text[at]])
            {
                if (text[at..].StartsWith(candidate.Text, StringComparison.Ordinal))
                {
                    candidates.Add(candidate);
                }
            }

            pos = at + 1;
        }

        pieces.Add((0, text.Length, -1));
        var next = new List<(int Start, int Length, int Id)>();
        foreach (var (tokenText, id) in candidates.OrderByDescending(c => c.Text.Length).ThenBy(c => c.Id))
        {
            var strip = StripOf(id);
            next.Clear();
            foreach (var piece in pieces)
            {
                if (piece.Id >= 0)
                {
                    next.Add(piece);
                    continue;
                }

                var start = piece.Start;
                var end = piece.Start + piece.Length;
                while (start < end)
                {
                    var rel = text[start..end].IndexOf(tokenText, StringComparison.Ordinal);
                    if (rel < 0)
                    {
                        break;
                    }

                    var at = start + rel;
                    var leftEnd = at;
                    if ((strip & TokenStrip.Left) != 0)
                    {
                        while (leftEnd > start && _rules.IsStripped(text[leftEnd - 1]))
                        {
                            leftEnd--;
                        }
                    }

                    if (leftEnd > start)
                    {
                        next.Add((start, leftEnd - start, -1));
                    }

                    next.Add((at, tokenText.Length, id));
                    start = at + tokenText.Length;
                    if ((strip & TokenStrip.Right) != 0)
                    {
                        while (start < end && _rules.IsStripped(text[start]))
                        {
                            start++;
                        }
                    }
                }

                if (start < end)
                {
                    next.Add((start, end - start, -1));
                }
            }

            pieces.Clear();
            pieces.AddRange(next);
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
