namespace Folio.Engine.Constraints;

/// <summary>
/// The one intermediate form every constraint compiles to: rules whose bodies are expressions over
/// Unicode characters and other rules. GBNF maps onto it directly, a regex is one rule without
/// references, and a JSON schema becomes a set of rules. <see cref="ByteAutomatonBuilder"/> turns it
/// into per-rule byte automata.
/// </summary>
internal abstract class GrammarExpr
{
    public static GrammarExpr Empty { get; } = new SequenceExpr([]);

    public static GrammarExpr Text(string text) => new LiteralExpr(System.Text.Encoding.UTF8.GetBytes(text));

    public static GrammarExpr Seq(params GrammarExpr[] items) => items.Length == 1 ? items[0] : new SequenceExpr(items);

    public static GrammarExpr Alt(params GrammarExpr[] options) => options.Length == 1 ? options[0] : new ChoiceExpr(options);

    public static GrammarExpr Chars(CodePointSet set) => new CharClassExpr(set);

    public static GrammarExpr Chars(string chars) => new CharClassExpr(CodePointSet.Of(chars));

    public static GrammarExpr Range(int lo, int hi) => new CharClassExpr(CodePointSet.FromRanges([(lo, hi)]));

    public static GrammarExpr Ref(string rule) => new RuleRefExpr(rule);

    public GrammarExpr Optional() => new RepeatExpr(this, 0, 1);

    public GrammarExpr Star() => new RepeatExpr(this, 0, RepeatExpr.Unbounded);

    public GrammarExpr Plus() => new RepeatExpr(this, 1, RepeatExpr.Unbounded);

    public GrammarExpr Repeat(int min, int max) => new RepeatExpr(this, min, max);
}

/// <summary>Exact bytes (the UTF-8 of a literal).</summary>
internal sealed class LiteralExpr(byte[] bytes) : GrammarExpr
{
    public byte[] Bytes { get; } = bytes;
}

/// <summary>One character from a set.</summary>
internal sealed class CharClassExpr(CodePointSet set) : GrammarExpr
{
    public CodePointSet Set { get; } = set;
}

/// <summary>One byte from a range: only for byte-exact constructs (none of the front ends need it yet, but the automaton supports it).</summary>
internal sealed class ByteRangeExpr(byte lo, byte hi) : GrammarExpr
{
    public byte Lo { get; } = lo;

    public byte Hi { get; } = hi;
}

internal sealed class SequenceExpr(IReadOnlyList<GrammarExpr> items) : GrammarExpr
{
    public IReadOnlyList<GrammarExpr> Items { get; } = items;
}

internal sealed class ChoiceExpr(IReadOnlyList<GrammarExpr> options) : GrammarExpr
{
    public IReadOnlyList<GrammarExpr> Options { get; } = options;
}

/// <summary><see cref="Item"/> between <see cref="Min"/> and <see cref="Max"/> times (<see cref="Unbounded"/>: no upper limit).</summary>
internal sealed class RepeatExpr(GrammarExpr item, int min, int max) : GrammarExpr
{
    public const int Unbounded = -1;

    public GrammarExpr Item { get; } = item;

    public int Min { get; } = min;

    public int Max { get; } = max;
}

/// <summary>A reference to another rule by name.</summary>
internal sealed class RuleRefExpr(string name) : GrammarExpr
{
    public string Name { get; } = name;

    /// <summary>Where the reference was written (GBNF: line and column), for error messages; null for generated grammars.</summary>
    public string? Location { get; init; }
}

/// <summary>Named rules and the start rule.</summary>
internal sealed class GrammarDefinition
{
    private readonly Dictionary<string, GrammarExpr> _rules = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public GrammarDefinition(string root) => Root = root;

    public string Root { get; }

    public IReadOnlyList<string> RuleNames => _order;

    public GrammarExpr this[string name] => _rules[name];

    public bool Contains(string name) => _rules.ContainsKey(name);

    /// <summary>Adds a rule; front ends check for duplicate names first and say where.</summary>
    public void Add(string name, GrammarExpr body)
    {
        _rules.Add(name, body);
        _order.Add(name);
    }

    /// <summary>Sets the body of an existing rule (a recursive rule is added empty first, so references to it resolve).</summary>
    public void Replace(string name, GrammarExpr body)
    {
        if (!_rules.ContainsKey(name))
        {
            throw new KeyNotFoundException(name);
        }

        _rules[name] = body;
    }
}
