using System.Text;
using Folio.Text.Chat.Jinja;
using Folio.Text.Tokenization;

namespace Folio.Text.Chat;

/// <summary>
/// ContentSpecialTokens plain: before rendering, every special-token string in a value that came
/// from the request is swapped for a placeholder character (from the Private Use Area, one per
/// distinct token, chosen among those that occur nowhere in the request or the template); after
/// rendering, the placeholders are swapped back and their spans recorded, so the tokenizer encodes
/// them as ordinary text while the template's own special tokens stay special.
/// </summary>
internal sealed class ContentProtection
{
    private const char FirstPlaceholder = '\uE000';
    private const char LastPlaceholder = '\uF8FF';

    private readonly ITokenizer _tokenizer;
    private readonly HashSet<char> _taken = [];
    private readonly Dictionary<string, char> _byToken = new(StringComparer.Ordinal);
    private readonly Dictionary<char, string> _byPlaceholder = [];
    private char _next = FirstPlaceholder;

    public ContentProtection(ITokenizer tokenizer, IEnumerable<string> templateTexts, object? requestValues)
    {
        _tokenizer = tokenizer;
        foreach (var text in templateTexts)
        {
            NoteTaken(text);
        }

        Walk(requestValues, s =>
        {
            NoteTaken(s);
            return s;
        });
    }

    public bool IsActive => _byPlaceholder.Count > 0;

    /// <summary>The value with every string's special-token text replaced by placeholders (strings, lists and mappings are copied).</summary>
    public object? Protect(object? value) => Walk(value, ProtectString);

    public string ProtectString(string text)
    {
        var found = _tokenizer.FindSpecialTokens(text);
        if (found.Count == 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        var pos = 0;
        foreach (var range in found)
        {
            sb.Append(text, pos, range.Start - pos).Append(PlaceholderFor(text.Substring(range.Start, range.Length)));
            pos = range.End;
        }

        return sb.Append(text, pos, text.Length - pos).ToString();
    }

    /// <summary>The rendered text with placeholders swapped back, and the spans they now cover.</summary>
    public (string Text, List<TextRange> PlainRanges) Restore(string rendered)
    {
        var ranges = new List<TextRange>();
        if (!IsActive)
        {
            return (rendered, ranges);
        }

        var sb = new StringBuilder(rendered.Length + 64);
        foreach (var c in rendered)
        {
            if (_byPlaceholder.TryGetValue(c, out var token))
            {
                ranges.Add(new TextRange(sb.Length, token.Length));
                sb.Append(token);
            }
            else
            {
                sb.Append(c);
            }
        }

        return (sb.ToString(), ranges);
    }

    private char PlaceholderFor(string token)
    {
        if (_byToken.TryGetValue(token, out var existing))
        {
            return existing;
        }

        while (_next <= LastPlaceholder && _taken.Contains(_next))
        {
            _next++;
        }

        if (_next > LastPlaceholder)
        {
            throw new ChatTemplateUnsupportedException("limit: content special tokens", "The request holds more distinct special-token strings than ContentSpecialTokens plain can keep apart; send fewer.");
        }

        var placeholder = _next++;
        _byToken[token] = placeholder;
        _byPlaceholder[placeholder] = token;
        return placeholder;
    }

    private void NoteTaken(string text)
    {
        foreach (var c in text)
        {
            if (c is >= FirstPlaceholder and <= LastPlaceholder)
            {
                _taken.Add(c);
            }
        }
    }

    private static object? Walk(object? value, Func<string, string> map) => value switch
    {
        string s => map(s),
        List<object?> list => list.Select(v => Walk(v, map)).ToList(),
        Dictionary<string, object?> dict => dict.ToDictionary(p => map(p.Key), p => Walk(p.Value, map), StringComparer.Ordinal),
        _ => value,
    };
}
