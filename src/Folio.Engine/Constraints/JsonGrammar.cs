namespace Folio.Engine.Constraints;

/// <summary>
/// The pieces of JSON every schema grammar shares. Whitespace rule (documented in
/// docs/structured-output.md): between JSON tokens the output may have nothing, one space, or one
/// newline followed by up to 20 spaces or tabs (llama.cpp's choice: room for compact and
/// pretty-printed output, bounded so a model cannot stall in whitespace); none before the document
/// and none after it. Strings never hold raw control characters or DEL; escapes are JSON's, and a
/// \u escape is never a surrogate, so every string decodes to valid Unicode.
/// </summary>
internal static class JsonGrammar
{
    public const string ValueRule = "json-value";
    public const string ObjectRule = "json-object";
    public const string ArrayRule = "json-array";
    public const string StringRule = "json-string";

    /// <summary>Longest run of indentation after a newline.</summary>
    public const int MaxIndent = 20;

    /// <summary>Integer and fraction digits of an unbounded number.</summary>
    public const int MaxDigits = 16;

    public static readonly CodePointSet HexDigit = CodePointSet.FromRanges([('0', '9'), ('a', 'f'), ('A', 'F')]);

    /// <summary>Characters a JSON string may hold unescaped (here: not ", \, controls or DEL).</summary>
    public static readonly CodePointSet RawStringChar = CodePointSet.FromRanges([(0, 0x1F), ('"', '"'), ('\\', '\\'), (0x7F, 0x7F)]).Complement();

    public static GrammarExpr Ws { get; } = GrammarExpr.Alt(
        GrammarExpr.Empty,
        GrammarExpr.Text(" "),
        GrammarExpr.Seq(GrammarExpr.Text("\n"), GrammarExpr.Chars(" \t").Repeat(0, MaxIndent)));

    /// <summary>One character of a JSON string's content, raw or escaped.</summary>
    public static GrammarExpr StringChar { get; } = GrammarExpr.Alt(
        GrammarExpr.Chars(RawStringChar),
        GrammarExpr.Seq(GrammarExpr.Text("\\"), GrammarExpr.Alt(GrammarExpr.Chars("\"\\/bfnrt"), GrammarExpr.Seq(GrammarExpr.Text("u"), NonSurrogateHex4()))));

    public static GrammarExpr Digit { get; } = GrammarExpr.Range('0', '9');

    /// <summary>Any JSON number: -?(0|[1-9][0-9]{0,15})(\.[0-9]{1,16})?([eE][-+]?[0-9]{1,2})?</summary>
    public static GrammarExpr Number { get; } = GrammarExpr.Seq(
        GrammarExpr.Text("-").Optional(),
        GrammarExpr.Alt(GrammarExpr.Text("0"), GrammarExpr.Seq(GrammarExpr.Range('1', '9'), Digit.Repeat(0, MaxDigits - 1))),
        GrammarExpr.Seq(GrammarExpr.Text("."), Digit.Repeat(1, MaxDigits)).Optional(),
        GrammarExpr.Seq(GrammarExpr.Chars("eE"), GrammarExpr.Chars("+-").Optional(), Digit.Repeat(1, 2)).Optional());

    /// <summary>Adds the generic JSON rules (value, object, array, string) once.</summary>
    public static void AddGenericRules(GrammarDefinition grammar)
    {
        if (grammar.Contains(ValueRule))
        {
            return;
        }

        AddStringRule(grammar);
        grammar.Add(ValueRule, GrammarExpr.Alt(
            GrammarExpr.Ref(ObjectRule),
            GrammarExpr.Ref(ArrayRule),
            GrammarExpr.Ref(StringRule),
            Number,
            GrammarExpr.Text("true"),
            GrammarExpr.Text("false"),
            GrammarExpr.Text("null")));
        var member = GrammarExpr.Seq(GrammarExpr.Ref(StringRule), Ws, GrammarExpr.Text(":"), Ws, GrammarExpr.Ref(ValueRule));
        grammar.Add(ObjectRule, GrammarExpr.Seq(
            GrammarExpr.Text("{"),
            Ws,
            GrammarExpr.Seq(member, GrammarExpr.Seq(Ws, GrammarExpr.Text(","), Ws, member).Star(), Ws).Optional(),
            GrammarExpr.Text("}")));
        grammar.Add(ArrayRule, GrammarExpr.Seq(
            GrammarExpr.Text("["),
            Ws,
            GrammarExpr.Seq(GrammarExpr.Ref(ValueRule), GrammarExpr.Seq(Ws, GrammarExpr.Text(","), Ws, GrammarExpr.Ref(ValueRule)).Star(), Ws).Optional(),
            GrammarExpr.Text("]")));
    }

    public static void AddStringRule(GrammarDefinition grammar)
    {
        if (!grammar.Contains(StringRule))
        {
            grammar.Add(StringRule, Quoted(StringChar.Star()));
        }
    }

    public static GrammarExpr Quoted(GrammarExpr content) => GrammarExpr.Seq(GrammarExpr.Text("\""), content, GrammarExpr.Text("\""));

    /// <summary>Four hex digits that are not a surrogate (D800-DFFF): a lone surrogate does not decode.</summary>
    private static GrammarExpr NonSurrogateHex4()
    {
        var h = GrammarExpr.Chars(HexDigit);
        return GrammarExpr.Alt(
            GrammarExpr.Seq(GrammarExpr.Chars(CodePointSet.FromRanges([('0', '9'), ('a', 'c'), ('A', 'C'), ('e', 'f'), ('E', 'F')])), h, h, h),
            GrammarExpr.Seq(GrammarExpr.Chars("dD"), GrammarExpr.Range('0', '7'), h, h));
    }

    /// <summary>
    /// The JSON string content forms of one character from <paramref name="set"/>: raw where JSON
    /// allows it, else its escape (\" \\ \b \f \n \r \t, or \u00XX). Used for regex patterns inside
    /// strings, so that the decoded string is what the pattern matches.
    /// </summary>
    public static GrammarExpr EncodedChar(CodePointSet set)
    {
        var options = new List<GrammarExpr>();
        var raw = set.Minus(RawStringChar.Complement());
        if (!raw.IsEmpty)
        {
            options.Add(GrammarExpr.Chars(raw));
        }

        foreach (var (lo, hi) in set.Ranges)
        {
            for (int c = lo; c <= Math.Min(hi, 0x7F); c++)
            {
                if (RawStringChar.Contains(c))
                {
                    continue;
                }

                string escape = c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\b' => "\\b",
                    '\f' => "\\f",
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    _ => $"\\u{c:x4}",
                };
                options.Add(GrammarExpr.Text(escape));
            }
        }

        return options.Count == 0 ? throw new ConstraintException("a pattern character class is empty") : GrammarExpr.Alt([.. options]);
    }

    /// <summary>Rewrites a regex expression so each character becomes its JSON string forms.</summary>
    public static GrammarExpr EncodeForString(GrammarExpr regex) => regex switch
    {
        CharClassExpr c => EncodedChar(c.Set),
        SequenceExpr s => new SequenceExpr([.. s.Items.Select(EncodeForString)]),
        ChoiceExpr c => new ChoiceExpr([.. c.Options.Select(EncodeForString)]),
        RepeatExpr r => new RepeatExpr(EncodeForString(r.Item), r.Min, r.Max),
        _ => throw new InvalidOperationException($"unexpected {regex.GetType().Name} in a parsed regex"),
    };

    /// <summary>JSON text of a value, compact, strings escaped only where JSON requires (and DEL).</summary>
    public static string Serialize(System.Text.Json.JsonElement value)
    {
        var sb = new System.Text.StringBuilder();
        Write(value, sb);
        return sb.ToString();
    }

    private static void Write(System.Text.Json.JsonElement value, System.Text.StringBuilder sb)
    {
        switch (value.ValueKind)
        {
            case System.Text.Json.JsonValueKind.String:
                WriteString(value.GetString()!, sb);
                break;
            case System.Text.Json.JsonValueKind.Object:
                sb.Append('{');
                bool first = true;
                foreach (var p in value.EnumerateObject())
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }

                    first = false;
                    WriteString(p.Name, sb);
                    sb.Append(':');
                    Write(p.Value, sb);
                }

                sb.Append('}');
                break;
            case System.Text.Json.JsonValueKind.Array:
                sb.Append('[');
                int i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (i++ > 0)
                    {
                        sb.Append(',');
                    }

                    Write(item, sb);
                }

                sb.Append(']');
                break;
            default:
                sb.Append(value.GetRawText());
                break;
        }
    }

    public static void WriteString(string s, System.Text.StringBuilder sb)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case < ' ' or '\x7F':
                    sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        sb.Append('"');
    }
}
