using System.Globalization;
using System.Text;

namespace Folio.Engine.Tests.Constraints;

/// <summary>
/// A test-side GBNF recogniser, written from the grammar text independently of the engine's
/// compiler: the grammar is read into plain BNF (groups, ?, *, +, {m,n} become fresh rules) and an
/// Earley recogniser runs over the text's code points. It answers whether a text is a sentence of
/// the grammar and whether it is a prefix of one.
/// </summary>
internal sealed class GbnfRecogniser
{
    private readonly Dictionary<string, List<Symbol[]>> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nullable = new(StringComparer.Ordinal);
    private int _fresh;

    private abstract record Symbol;

    private sealed record Terminal(Func<int, bool> Matches) : Symbol;

    private sealed record NonTerminal(string Name) : Symbol;

    public GbnfRecogniser(string grammar)
    {
        new Reader(grammar, this).ReadAll();
        ComputeNullable();
    }

    public bool Accepts(string text) => Run(text, out bool complete) && complete;

    public bool IsPrefix(string text) => Run(text, out _);

    private readonly record struct Item(string Rule, int Alt, int Dot, int Origin);

    private bool Run(string text, out bool complete)
    {
        int[] cps = [.. text.EnumerateRunes().Select(r => r.Value)];
        var sets = new List<HashSet<Item>>();
        var queues = new List<List<Item>>();
        for (int i = 0; i <= cps.Length; i++)
        {
            sets.Add([]);
            queues.Add([]);
        }

        void Add(int i, Item item)
        {
            if (sets[i].Add(item))
            {
                queues[i].Add(item);
            }
        }

        for (int a = 0; a < _rules["root"].Count; a++)
        {
            Add(0, new Item("root", a, 0, 0));
        }

        for (int i = 0; i <= cps.Length; i++)
        {
            var queue = queues[i];
            for (int q = 0; q < queue.Count; q++)
            {
                var item = queue[q];
                var body = _rules[item.Rule][item.Alt];
                if (item.Dot == body.Length)
                {
                    // Complete: advance every item at the origin waiting for this rule.
                    foreach (var waiting in queues[item.Origin].ToArray())
                    {
                        var wb = _rules[waiting.Rule][waiting.Alt];
                        if (waiting.Dot < wb.Length && wb[waiting.Dot] is NonTerminal nt && nt.Name == item.Rule)
                        {
                            Add(i, waiting with { Dot = waiting.Dot + 1 });
                        }
                    }

                    continue;
                }

                switch (body[item.Dot])
                {
                    case NonTerminal nt:
                        for (int a = 0; a < _rules[nt.Name].Count; a++)
                        {
                            Add(i, new Item(nt.Name, a, 0, i));
                        }

                        if (_nullable.Contains(nt.Name))
                        {
                            Add(i, item with { Dot = item.Dot + 1 });
                        }

                        break;
                    case Terminal t when i < cps.Length && t.Matches(cps[i]):
                        Add(i + 1, item with { Dot = item.Dot + 1 });
                        break;
                }
            }
        }

        complete = sets[cps.Length].Any(it => it.Rule == "root" && it.Origin == 0 && it.Dot == _rules["root"][it.Alt].Length);
        return sets[cps.Length].Count > 0;
    }

    private void ComputeNullable()
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (name, alts) in _rules)
            {
                if (!_nullable.Contains(name) && alts.Any(alt => alt.All(s => s is NonTerminal n && _nullable.Contains(n.Name))))
                {
                    _nullable.Add(name);
                    changed = true;
                }
            }
        }
    }

    private string Fresh(List<Symbol[]> alternatives)
    {
        string name = $"__g{_fresh++}";
        _rules[name] = alternatives;
        return name;
    }

    /// <summary>Reads GBNF text: rules, alternatives, sequences, literals, classes, groups and repetitions.</summary>
    private sealed class Reader(string text, GbnfRecogniser owner)
    {
        private int _pos;

        public void ReadAll()
        {
            Space(true);
            while (_pos < text.Length)
            {
                string name = Name();
                Space(false);
                Expect("::=");
                Space(true);
                var alts = Alternatives(false);
                if (owner._rules.TryGetValue(name, out var existing))
                {
                    existing.AddRange(alts);
                }
                else
                {
                    owner._rules[name] = alts;
                }

                Space(true);
            }
        }

        private List<Symbol[]> Alternatives(bool nested)
        {
            var alts = new List<Symbol[]> { Sequence(nested) };
            while (_pos < text.Length && text[_pos] == '|')
            {
                _pos++;
                Space(true);
                alts.Add(Sequence(nested));
            }

            return alts;
        }

        private Symbol[] Sequence(bool nested)
        {
            var seq = new List<Symbol>();
            while (_pos < text.Length)
            {
                char c = text[_pos];
                Symbol atom;
                if (c == '"')
                {
                    _pos++;
                    var chars = new List<int>();
                    while (text[_pos] != '"')
                    {
                        chars.Add(Char());
                    }

                    _pos++;
                    var symbols = chars.Select(ch => (Symbol)new Terminal(x => x == ch)).ToArray();
                    atom = symbols.Length == 1 ? symbols[0] : new NonTerminal(owner.Fresh([symbols]));
                }
                else if (c == '[')
                {
                    _pos++;
                    bool negate = text[_pos] == '^';
                    if (negate)
                    {
                        _pos++;
                    }

                    var ranges = new List<(int Lo, int Hi)>();
                    while (text[_pos] != ']')
                    {
                        int lo = Char();
                        int hi = lo;
                        if (text[_pos] == '-' && text[_pos + 1] != ']')
                        {
                            _pos++;
                            hi = Char();
                        }

                        ranges.Add((lo, hi));
                    }

                    _pos++;
                    atom = new Terminal(x => ranges.Any(r => x >= r.Lo && x <= r.Hi) != negate);
                }
                else if (c == '.')
                {
                    _pos++;
                    atom = new Terminal(_ => true);
                }
                else if (c == '(')
                {
                    _pos++;
                    Space(true);
                    var inner = Alternatives(true);
                    Expect(")");
                    atom = new NonTerminal(owner.Fresh(inner));
                }
                else if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                {
                    atom = new NonTerminal(Name());
                }
                else
                {
                    break;
                }

                Space(nested);
                seq.Add(Postfix(atom, nested));
            }

            return [.. seq];
        }

        private Symbol Postfix(Symbol atom, bool nested)
        {
            while (_pos < text.Length && text[_pos] is '*' or '+' or '?' or '{')
            {
                char op = text[_pos++];
                int min, max;
                if (op == '{')
                {
                    int close = text.IndexOf('}', _pos);
                    var parts = text[_pos..close].Split(',');
                    min = int.Parse(parts[0].Trim(), CultureInfo.InvariantCulture);
                    max = parts.Length == 1 ? min : parts[1].Trim().Length == 0 ? -1 : int.Parse(parts[1].Trim(), CultureInfo.InvariantCulture);
                    _pos = close + 1;
                }
                else
                {
                    (min, max) = op == '*' ? (0, -1) : op == '+' ? (1, -1) : (0, 1);
                }

                atom = Repeat(atom, min, max);
                Space(nested);
            }

            return atom;
        }

        /// <summary>x{min,max} as BNF: min copies, then a right-recursive star or nested optionals.</summary>
        private NonTerminal Repeat(Symbol x, int min, int max)
        {
            Symbol tail;
            if (max < 0)
            {
                string star = $"__star{owner._fresh++}";
                owner._rules[star] = [[x, new NonTerminal(star)], []];
                tail = new NonTerminal(star);
            }
            else
            {
                // opt_k ::= x opt_{k-1} | empty, built from the inside out.
                Symbol? inner = null;
                for (int k = 0; k < max - min; k++)
                {
                    inner = new NonTerminal(owner.Fresh(inner is null ? [[x], []] : [[x, inner], []]));
                }

                tail = inner ?? new NonTerminal(owner.Fresh([[]]));
            }

            return new NonTerminal(owner.Fresh([[.. Enumerable.Repeat(x, min), tail]]));
        }

        private int Char()
        {
            if (text[_pos] != '\\')
            {
                int cp = char.ConvertToUtf32(text, _pos);
                _pos += cp > 0xFFFF ? 2 : 1;
                return cp;
            }

            _pos++;
            char e = text[_pos++];
            int Hex(int n)
            {
                int v = int.Parse(text.AsSpan(_pos, n), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                _pos += n;
                return v;
            }

            return e switch
            {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'x' => Hex(2),
                'u' => Hex(4),
                'U' => Hex(8),
                _ => e,
            };
        }

        private string Name()
        {
            int start = _pos;
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '-' or '_'))
            {
                _pos++;
            }

            return text[start.._pos];
        }

        private void Expect(string s)
        {
            if (!text.AsSpan(_pos).StartsWith(s, StringComparison.Ordinal))
            {
                throw new FormatException($"expected '{s}' at {_pos}: '{text.Substring(_pos, Math.Min(20, text.Length - _pos))}'");
            }

            _pos += s.Length;
        }

        private void Space(bool newlines)
        {
            while (_pos < text.Length)
            {
                if (text[_pos] is ' ' or '\t' || (newlines && text[_pos] is '\n' or '\r'))
                {
                    _pos++;
                }
                else if (text[_pos] == '#')
                {
                    while (_pos < text.Length && text[_pos] != '\n')
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
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (name, alts) in _rules)
        {
            sb.Append(name).Append(" -> ").Append(alts.Count).AppendLine(" alternatives");
        }

        return sb.ToString();
    }
}
