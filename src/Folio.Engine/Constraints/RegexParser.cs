using System.Globalization;

namespace Folio.Engine.Constraints;

/// <summary>
/// Parses a regular expression in the common subset of ECMAScript (JSON Schema's dialect), Python
/// and .NET into a grammar expression: literals, <c>.</c>, classes with ranges and negation,
/// <c>\d \w \s</c> and their negations (ASCII, as in ECMAScript: \d = [0-9], \w = [A-Za-z0-9_],
/// \s = [ \t\n\v\f\r]), escapes (\t \n \r \f \v \0 \xHH \uHHHH \u{H..}), groups (capturing,
/// <c>(?:...)</c>, named), alternation, and the quantifiers * + ? {n} {n,} {n,m} (lazy forms
/// accepted: same language). <c>^</c> and <c>$</c> only at the ends. <c>.</c> is any character but
/// \n, \r, U+2028 and U+2029. Characters are Unicode scalar values. Backreferences, lookaround,
/// word boundaries, flags and Unicode properties are refused, naming the position.
/// </summary>
internal sealed class RegexParser
{
    public const int MaxRepeat = 10_000;

    private static readonly CodePointSet Digit = CodePointSet.FromRanges([('0', '9')]);
    private static readonly CodePointSet Word = CodePointSet.FromRanges([('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')]);
    private static readonly CodePointSet Space = CodePointSet.Of(" \t\n\v\f\r");
    private static readonly CodePointSet Dot = CodePointSet.Of("\n\r\u2028\u2029").Complement();

    private readonly string _pattern;
    private int _pos;

    private RegexParser(string pattern) => _pattern = pattern;

    /// <summary>The pattern as a one-rule grammar whose sentences are its full matches.</summary>
    public static GrammarDefinition ToGrammar(string pattern)
    {
        var parsed = Parse(pattern);
        var grammar = new GrammarDefinition("root");
        grammar.Add("root", parsed.Body);
        return grammar;
    }

    /// <summary>The pattern's body and whether it was anchored at each end (^ and $ are stripped).</summary>
    public static (GrammarExpr Body, bool AnchoredStart, bool AnchoredEnd) Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var parser = new RegexParser(pattern);
        bool start = false, end = false;
        if (pattern.StartsWith('^'))
        {
            start = true;
            parser._pos = 1;
        }

        var body = parser.ParseAlternation(topLevel: true, out end);
        if (parser._pos < pattern.Length)
        {
            throw parser.Error($"unexpected '{pattern[parser._pos]}'", parser._pos);
        }

        return (body, start, end);
    }

    private GrammarExpr ParseAlternation(bool topLevel, out bool anchoredEnd)
    {
        anchoredEnd = false;
        var options = new List<GrammarExpr>();
        while (true)
        {
            options.Add(ParseConcatenation(topLevel, out bool end));
            if (end)
            {
                if (options.Count > 1 || (_pos < _pattern.Length && _pattern[_pos] == '|'))
                {
                    throw Error("'$' inside an alternation is not supported; anchor the whole pattern, e.g. ^(a|b)$", _pos - 1);
                }

                anchoredEnd = true;
            }

            if (_pos < _pattern.Length && _pattern[_pos] == '|')
            {
                _pos++;
                continue;
            }

            break;
        }

        return options.Count == 1 ? options[0] : new ChoiceExpr(options);
    }

    private GrammarExpr ParseConcatenation(bool topLevel, out bool anchoredEnd)
    {
        anchoredEnd = false;
        var items = new List<GrammarExpr>();
        while (_pos < _pattern.Length)
        {
            char c = _pattern[_pos];
            if (c is '|' or ')')
            {
                break;
            }

            if (c == '$')
            {
                if (!topLevel || _pos != _pattern.Length - 1)
                {
                    throw Error("'$' is only supported at the end of the pattern", _pos);
                }

                _pos++;
                anchoredEnd = true;
                break;
            }

            if (c == '^')
            {
                throw Error("'^' is only supported at the start of the pattern", _pos);
            }

            var atom = ParseAtom();
            items.Add(ParseQuantifiers(atom));
        }

        return items.Count == 1 ? items[0] : new SequenceExpr(items);
    }

    private GrammarExpr ParseQuantifiers(GrammarExpr atom)
    {
        while (_pos < _pattern.Length)
        {
            char c = _pattern[_pos];
            int at = _pos;
            int min, max;
            if (c == '*')
            {
                (min, max) = (0, RepeatExpr.Unbounded);
                _pos++;
            }
            else if (c == '+')
            {
                (min, max) = (1, RepeatExpr.Unbounded);
                _pos++;
            }
            else if (c == '?')
            {
                (min, max) = (0, 1);
                _pos++;
            }
            else if (c == '{' && TryParseBraces(out min, out max))
            {
            }
            else
            {
                return atom;
            }

            if (_pos < _pattern.Length && _pattern[_pos] == '?')
            {
                _pos++; // lazy: the same set of full matches
            }
            else if (_pos < _pattern.Length && _pattern[_pos] == '+')
            {
                throw Error("possessive quantifiers are not supported; drop the '+'", _pos);
            }

            if (atom is RepeatExpr { Min: 0 or 1 } && max == RepeatExpr.Unbounded && min <= 1)
            {
                // x** and the like: same language, avoid nested loops.
                atom = new RepeatExpr(((RepeatExpr)atom).Item, Math.Min(min, ((RepeatExpr)atom).Min), RepeatExpr.Unbounded);
                continue;
            }

            if (max != RepeatExpr.Unbounded && max < min)
            {
                throw Error($"quantifier {{{min},{max}}} has its maximum below its minimum", at);
            }

            atom = new RepeatExpr(atom, min, max);
        }

        return atom;
    }

    private bool TryParseBraces(out int min, out int max)
    {
        // {n} {n,} {n,m} {,m}; anything else is a literal '{' (as in ECMAScript's annex B and Python).
        min = max = 0;
        int close = _pattern.IndexOf('}', _pos);
        if (close < 0)
        {
            return false;
        }

        var body = _pattern.AsSpan(_pos + 1, close - _pos - 1);
        int comma = body.IndexOf(',');
        var lo = comma < 0 ? body : body[..comma];
        var hi = comma < 0 ? body : body[(comma + 1)..];
        bool loOk = int.TryParse(lo, NumberStyles.None, CultureInfo.InvariantCulture, out min);
        bool hiEmpty = comma >= 0 && hi.Length == 0;
        bool hiOk = hiEmpty || int.TryParse(hi, NumberStyles.None, CultureInfo.InvariantCulture, out max);
        if (lo.Length == 0 && comma >= 0 && !hiEmpty)
        {
            loOk = true;
            min = 0;
        }

        if (!loOk || !hiOk)
        {
            return false;
        }

        if (hiEmpty)
        {
            max = RepeatExpr.Unbounded;
        }
        else if (comma < 0)
        {
            max = min;
        }

        if (min > MaxRepeat || max > MaxRepeat)
        {
            throw Error($"repetition counts above {MaxRepeat} are not supported", _pos);
        }

        _pos = close + 1;
        return true;
    }

    private GrammarExpr ParseAtom()
    {
        int at = _pos;
        char c = _pattern[_pos];
        switch (c)
        {
            case '(':
                return ParseGroup();
            case '[':
                _pos++;
                return new CharClassExpr(ParseClass());
            case '.':
                _pos++;
                return new CharClassExpr(Dot);
            case '\\':
                _pos++;
                return new CharClassExpr(ParseEscape(inClass: false));
            case '*' or '+' or '?':
                throw Error($"'{c}' has nothing to repeat", at);
            default:
                return new CharClassExpr(CodePointSet.Single(ReadCodePoint()));
        }
    }

    private GrammarExpr ParseGroup()
    {
        int at = _pos;
        _pos++;
        if (_pos < _pattern.Length && _pattern[_pos] == '?')
        {
            _pos++;
            if (_pos < _pattern.Length && _pattern[_pos] == ':')
            {
                _pos++;
            }
            else if (_pos < _pattern.Length && (_pattern[_pos] == '<' || (_pattern[_pos] == 'P' && _pos + 1 < _pattern.Length && _pattern[_pos + 1] == '<')) && !IsLookbehind())
            {
                int close = _pattern.IndexOf('>', _pos);
                if (close < 0)
                {
                    throw Error("unterminated group name", _pos);
                }

                _pos = close + 1;
            }
            else
            {
                throw Error("lookaround, flags and other '(?' constructs are not supported; only (?:...) and named groups are", at);
            }
        }

        var inner = ParseAlternation(topLevel: false, out _);
        if (_pos >= _pattern.Length || _pattern[_pos] != ')')
        {
            throw Error("missing ')' for the group opened here", at);
        }

        _pos++;
        return inner;
    }

    private bool IsLookbehind() => _pattern[_pos] == '<' && _pos + 1 < _pattern.Length && _pattern[_pos + 1] is '=' or '!';

    private CodePointSet ParseClass()
    {
        int at = _pos - 1;
        bool negated = false;
        if (_pos < _pattern.Length && _pattern[_pos] == '^')
        {
            negated = true;
            _pos++;
        }

        var set = CodePointSet.Empty;
        bool first = true;
        while (true)
        {
            if (_pos >= _pattern.Length)
            {
                throw Error("missing ']' for the class opened here", at);
            }

            char c = _pattern[_pos];
            if (c == ']' && !first)
            {
                _pos++;
                break;
            }

            if (c == '[' && _pos + 1 < _pattern.Length && _pattern[_pos + 1] is ':' or '=' or '.')
            {
                throw Error("POSIX classes like [:alpha:] are not supported; list the ranges", _pos);
            }

            first = false;
            CodePointSet item;
            int lo = -1;
            if (c == '\\')
            {
                _pos++;
                item = ParseEscape(inClass: true);
                if (item.Ranges.Count == 1 && item.Ranges[0].Lo == item.Ranges[0].Hi)
                {
                    lo = item.Ranges[0].Lo;
                }
            }
            else
            {
                lo = ReadCodePoint();
                item = CodePointSet.Single(lo);
            }

            if (lo >= 0 && _pos + 1 < _pattern.Length && _pattern[_pos] == '-' && _pattern[_pos + 1] != ']')
            {
                int dash = _pos;
                _pos++;
                int hi;
                if (_pattern[_pos] == '\\')
                {
                    _pos++;
                    var h = ParseEscape(inClass: true);
                    if (h.Ranges.Count != 1 || h.Ranges[0].Lo != h.Ranges[0].Hi)
                    {
                        throw Error("a range cannot end in a class escape like \\d", dash);
                    }

                    hi = h.Ranges[0].Lo;
                }
                else
                {
                    hi = ReadCodePoint();
                }

                if (hi < lo)
                {
                    throw Error("range out of order", dash);
                }

                item = CodePointSet.FromRanges([(lo, hi)]);
            }

            set = set.Union(item);
        }

        return negated ? set.Complement() : set;
    }

    private CodePointSet ParseEscape(bool inClass)
    {
        if (_pos >= _pattern.Length)
        {
            throw Error("the pattern ends with a lone '\\'", _pos - 1);
        }

        int at = _pos - 1;
        char e = _pattern[_pos++];
        switch (e)
        {
            case 'd': return Digit;
            case 'D': return Digit.Complement();
            case 'w': return Word;
            case 'W': return Word.Complement();
            case 's': return Space;
            case 'S': return Space.Complement();
            case 't': return CodePointSet.Single('\t');
            case 'n': return CodePointSet.Single('\n');
            case 'r': return CodePointSet.Single('\r');
            case 'f': return CodePointSet.Single('\f');
            case 'v': return CodePointSet.Single('\v');
            case '0' when _pos >= _pattern.Length || !char.IsAsciiDigit(_pattern[_pos]): return CodePointSet.Single(0);
            case 'x': return CodePointSet.Single(ReadHex(2, at));
            case 'u' when _pos < _pattern.Length && _pattern[_pos] == '{':
            {
                int close = _pattern.IndexOf('}', _pos);
                if (close < 0 || close == _pos + 1 || close - _pos - 1 > 6)
                {
                    throw Error("expected \\u{hex digits}", at);
                }

                _pos++;
                int cp = ReadHex(close - _pos, at);
                _pos = close + 1;
                return CodePointSet.Single(cp);
            }

            case 'u':
            {
                int cp = ReadHex(4, at);

                // A surrogate pair written as two \u escapes is one character.
                if (cp is >= 0xD800 and <= 0xDBFF && _pos + 5 < _pattern.Length && _pattern[_pos] == '\\' && _pattern[_pos + 1] == 'u')
                {
                    int save = _pos;
                    _pos += 2;
                    int low = ReadHex(4, at);
                    if (low is >= 0xDC00 and <= 0xDFFF)
                    {
                        return CodePointSet.Single(char.ConvertToUtf32((char)cp, (char)low));
                    }

                    _pos = save;
                }

                if (cp is >= 0xD800 and <= 0xDFFF)
                {
                    throw Error("a lone surrogate escape is not a character", at);
                }

                return CodePointSet.Single(cp);
            }

            case 'b' when inClass: return CodePointSet.Single('\b');
            case 'b' or 'B' or 'A' or 'z' or 'Z' or 'G':
                throw Error($"'\\{e}' (an assertion) is not supported; constraints match characters only", at);
            case 'p' or 'P':
                throw Error($"Unicode property escapes ('\\{e}{{...}}') are not supported; list the ranges", at);
            case 'k':
                throw Error("backreferences are not supported", at);
            case 'c':
                throw Error("control escapes (\\cX) are not supported; use \\xHH", at);
            default:
                if (char.IsAsciiDigit(e))
                {
                    throw Error("backreferences (\\1) and octal escapes are not supported", at);
                }

                if (char.IsAsciiLetter(e))
                {
                    throw Error($"unknown escape '\\{e}'", at);
                }

                _pos--;
                return CodePointSet.Single(ReadCodePoint());
        }
    }

    private int ReadHex(int digits, int at)
    {
        if (_pos + digits > _pattern.Length || !int.TryParse(_pattern.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value) || value > CodePointSet.MaxCodePoint)
        {
            throw Error($"expected {digits} hex digits", at);
        }

        _pos += digits;
        return value;
    }

    private int ReadCodePoint()
    {
        if (char.IsSurrogate(_pattern[_pos]) && !char.IsSurrogatePair(_pattern, _pos))
        {
            throw Error("the pattern contains a lone surrogate", _pos);
        }

        int cp = char.ConvertToUtf32(_pattern, _pos);
        _pos += cp > 0xFFFF ? 2 : 1;
        return cp;
    }

    private ConstraintException Error(string message, int at) =>
        new($"regex: {message} at position {at} of '{_pattern}'");
}
