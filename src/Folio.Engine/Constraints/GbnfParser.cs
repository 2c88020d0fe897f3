using System.Globalization;
using System.Text;

namespace Folio.Engine.Constraints;

/// <summary>
/// Parses llama.cpp's GBNF (grammars/README.md in llama.cpp): <c>name ::= alternatives</c> rules,
/// string literals, character classes (negation, ranges, \x \u \U escapes), <c>.</c>, groups,
/// <c>* + ?</c> and <c>{m}</c> <c>{m,}</c> <c>{m,n}</c>, comments, and newlines inside groups or after
/// <c>|</c>. The start rule is <c>root</c>. Errors name the line and column.
/// </summary>
internal sealed class GbnfParser
{
    private readonly string _text;
    private readonly GrammarDefinition _grammar = new("root");
    private readonly Dictionary<string, string> _definedAt = new(StringComparer.Ordinal);
    private int _pos;

    private GbnfParser(string text) => _text = text;

    public static GrammarDefinition Parse(string text)
    {
        var parser = new GbnfParser(text);
        parser.ParseRules();
        return parser._grammar;
    }

    private void ParseRules()
    {
        SkipSpace(newlines: true);
        if (AtEnd)
        {
            throw Error("the grammar is empty; it needs at least 'root ::= ...'");
        }

        while (!AtEnd)
        {
            string where = Where();
            string name = ParseName("a rule name");
            SkipSpace(newlines: false);
            if (!_text.AsSpan(_pos).StartsWith("::=", StringComparison.Ordinal))
            {
                throw Error($"expected '::=' after rule name '{name}'");
            }

            _pos += 3;
            SkipSpace(newlines: true);
            var body = ParseAlternatives(nested: false);
            if (_definedAt.TryGetValue(name, out string? first))
            {
                throw new ConstraintException($"rule '{name}' is defined twice (at {first} and {where}); merge the definitions with '|'");
            }

            _definedAt[name] = where;
            _grammar.Add(name, body);
            if (!AtEnd && Peek is not ('\n' or '\r'))
            {
                throw Error($"unexpected '{Peek}' in rule '{name}'; expected the end of the line");
            }

            SkipSpace(newlines: true);
        }
    }

    private GrammarExpr ParseAlternatives(bool nested)
    {
        var options = new List<GrammarExpr> { ParseSequence(nested) };
        while (!AtEnd && Peek == '|')
        {
            _pos++;
            SkipSpace(newlines: true);
            options.Add(ParseSequence(nested));
        }

        return options.Count == 1 ? options[0] : new ChoiceExpr(options);
    }

    private GrammarExpr ParseSequence(bool nested)
    {
        var items = new List<GrammarExpr>();
        while (!AtEnd)
        {
            char c = Peek;
            string where = Where();
            if (c == '"')
            {
                _pos++;
                items.Add(ParseLiteral());
            }
            else if (c == '[')
            {
                _pos++;
                items.Add(new CharClassExpr(ParseClass()));
            }
            else if (c == '.')
            {
                _pos++;
                items.Add(new CharClassExpr(CodePointSet.All));
            }
            else if (c == '(')
            {
                _pos++;
                SkipSpace(newlines: true);
                var inner = ParseAlternatives(nested: true);
                if (AtEnd || Peek != ')')
                {
                    throw Error("expected ')' to close the group opened at " + where);
                }

                _pos++;
                items.Add(inner);
            }
            else if (IsWordChar(c))
            {
                string name = ParseName("a rule name");
                items.Add(new RuleRefExpr(name) { Location = where });
            }
            else if (c is '*' or '+' or '?' or '{')
            {
                if (items.Count == 0)
                {
                    throw Error($"'{c}' must follow an element");
                }

                items[^1] = ParseRepetition(items[^1]);
            }
            else if (c == '<')
            {
                throw Error("token references (<[id]> or <name>) are not supported; write the token's text as a string literal");
            }
            else
            {
                break;
            }

            SkipSpace(newlines: nested);
        }

        return items.Count == 1 ? items[0] : new SequenceExpr(items);
    }

    private GrammarExpr ParseRepetition(GrammarExpr item)
    {
        char c = Peek;
        _pos++;
        switch (c)
        {
            case '*':
                return item.Star();
            case '+':
                return item.Plus();
            case '?':
                return item.Optional();
        }

        SkipSpace(newlines: false);
        int min = ParseInt("a repetition count");
        int max = min;
        SkipSpace(newlines: false);
        if (!AtEnd && Peek == ',')
        {
            _pos++;
            SkipSpace(newlines: false);
            max = !AtEnd && char.IsAsciiDigit(Peek) ? ParseInt("a repetition count") : RepeatExpr.Unbounded;
            SkipSpace(newlines: false);
        }

        if (AtEnd || Peek != '}')
        {
            throw Error("expected '}' to close the repetition");
        }

        _pos++;
        if (max != RepeatExpr.Unbounded && max < min)
        {
            throw Error($"repetition {{{min},{max}}} has its maximum below its minimum");
        }

        return item.Repeat(min, max);
    }

    private int ParseInt(string what)
    {
        int start = _pos;
        while (!AtEnd && char.IsAsciiDigit(Peek))
        {
            _pos++;
        }

        if (start == _pos || !int.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value > 100_000)
        {
            _pos = start;
            throw Error($"expected {what} (0 to 100000)");
        }

        return value;
    }

    private LiteralExpr ParseLiteral()
    {
        var sb = new StringBuilder();
        while (true)
        {
            if (AtEnd || Peek is '\n' or '\r')
            {
                throw Error("unterminated string literal; close it with '\"'");
            }

            if (Peek == '"')
            {
                _pos++;
                break;
            }

            sb.Append(char.ConvertFromUtf32(ParseChar()));
        }

        return new LiteralExpr(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    private CodePointSet ParseClass()
    {
        bool negated = false;
        if (!AtEnd && Peek == '^')
        {
            negated = true;
            _pos++;
        }

        var ranges = new List<(int, int)>();
        while (true)
        {
            if (AtEnd)
            {
                throw Error("unterminated character class; close it with ']'");
            }

            if (Peek == ']')
            {
                _pos++;
                break;
            }

            int lo = ParseChar();
            int hi = lo;
            if (!AtEnd && Peek == '-' && _pos + 1 < _text.Length && _text[_pos + 1] != ']')
            {
                _pos++;
                hi = ParseChar();
                if (hi < lo)
                {
                    throw Error($"range {Describe(lo)}-{Describe(hi)} is backwards");
                }
            }

            ranges.Add((lo, hi));
        }

        var set = CodePointSet.FromRanges(ranges);
        return negated ? set.Complement() : set;
    }

    /// <summary>One character of a literal or class, with llama.cpp's escapes.</summary>
    private int ParseChar()
    {
        if (Peek != '\\')
        {
            int cp = char.ConvertToUtf32(_text, _pos);
            _pos += char.IsSurrogatePair(_text, _pos) ? 2 : 1;
            return cp;
        }

        _pos++;
        if (AtEnd)
        {
            throw Error("escape at the end of the grammar");
        }

        char e = Peek;
        _pos++;
        return e switch
        {
            'x' => ParseHex(2),
            'u' => ParseHex(4),
            'U' => ParseHex(8),
            't' => '\t',
            'r' => '\r',
            'n' => '\n',
            '\\' or '"' or '[' or ']' or '-' or '^' or '.' or '/' => e,
            _ => throw Error($"unknown escape '\\{e}'; use \\t \\r \\n \\\\ \\\" \\[ \\] \\xHH \\uHHHH or \\UHHHHHHHH"),
        };
    }

    private int ParseHex(int digits)
    {
        if (_pos + digits > _text.Length || !int.TryParse(_text.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
        {
            throw Error($"expected {digits} hex digits");
        }

        _pos += digits;
        if (value > CodePointSet.MaxCodePoint || value is >= 0xD800 and <= 0xDFFF)
        {
            throw Error($"U+{value:X} is not a Unicode scalar value");
        }

        return value;
    }

    private string ParseName(string what)
    {
        int start = _pos;
        while (!AtEnd && IsWordChar(Peek))
        {
            _pos++;
        }

        if (start == _pos)
        {
            throw Error($"expected {what}");
        }

        return _text[start.._pos];
    }

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private void SkipSpace(bool newlines)
    {
        while (!AtEnd)
        {
            char c = Peek;
            if (c is ' ' or '\t' || (newlines && c is '\n' or '\r'))
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (!AtEnd && Peek is not ('\n' or '\r'))
                {
                    _pos++;
                }
            }
            else
            {
                break;
            }
        }
    }

    private bool AtEnd => _pos >= _text.Length;

    private char Peek => _text[_pos];

    private string Where()
    {
        int line = 1, col = 1;
        for (int i = 0; i < _pos && i < _text.Length; i++)
        {
            if (_text[i] == '\n')
            {
                line++;
                col = 1;
            }
            else
            {
                col++;
            }
        }

        return $"line {line}, column {col}";
    }

    private ConstraintException Error(string message) => new($"grammar: {message} (at {Where()})");

    private static string Describe(int cp) => cp is >= 0x20 and < 0x7F ? ((char)cp).ToString() : $"U+{cp:X4}";
}
