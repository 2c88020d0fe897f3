namespace Folio.Engine.Constraints;

/// <summary>
/// Grammars of the JSON Schema string formats the compiler supports (content only, without the
/// quotes). Each accepts a subset of its RFC's syntax, chosen so that every output is valid:
/// real calendar dates (years 1000-9999, February to the 28th), times with seconds 00-59 and a
/// required offset (RFC 3339), lowercase or uppercase hex UUIDs, and dot-atom email addresses whose
/// domain labels are 1-20 letters and digits (no hyphens) and TLD 2-12 letters.
/// </summary>
internal static class StringFormats
{
    public static IReadOnlyList<string> Names { get; } = ["date", "time", "date-time", "uuid", "email"];

    public static GrammarExpr? For(string name) => name switch
    {
        "date" => Date(),
        "time" => Time(),
        "date-time" => GrammarExpr.Seq(Date(), GrammarExpr.Text("T"), Time()),
        "uuid" => Uuid(),
        "email" => Email(),
        _ => null,
    };

    private static GrammarExpr D => JsonGrammar.Digit;

    private static GrammarExpr Two(char firstLo, char firstHi, char secondLo, char secondHi) =>
        GrammarExpr.Seq(GrammarExpr.Range(firstLo, firstHi), GrammarExpr.Range(secondLo, secondHi));

    private static GrammarExpr Date()
    {
        var year = GrammarExpr.Seq(GrammarExpr.Range('1', '9'), D.Repeat(3, 3));
        var day28 = GrammarExpr.Alt(Two('0', '0', '1', '9'), Two('1', '1', '0', '9'), Two('2', '2', '0', '8'));
        var day30 = GrammarExpr.Alt(Two('0', '0', '1', '9'), Two('1', '2', '0', '9'), GrammarExpr.Text("30"));
        var day31 = GrammarExpr.Alt(day30, GrammarExpr.Text("31"));
        var dash = GrammarExpr.Text("-");
        var monthDay = GrammarExpr.Alt(
            GrammarExpr.Seq(GrammarExpr.Alt(GrammarExpr.Text("01"), GrammarExpr.Text("03"), GrammarExpr.Text("05"), GrammarExpr.Text("07"), GrammarExpr.Text("08"), GrammarExpr.Text("10"), GrammarExpr.Text("12")), dash, day31),
            GrammarExpr.Seq(GrammarExpr.Alt(GrammarExpr.Text("04"), GrammarExpr.Text("06"), GrammarExpr.Text("09"), GrammarExpr.Text("11")), dash, day30),
            GrammarExpr.Seq(GrammarExpr.Text("02"), dash, day28));
        return GrammarExpr.Seq(year, dash, monthDay);
    }

    private static GrammarExpr Time()
    {
        var hour = GrammarExpr.Alt(Two('0', '1', '0', '9'), Two('2', '2', '0', '3'));
        var minute = Two('0', '5', '0', '9');
        var colon = GrammarExpr.Text(":");
        var fraction = GrammarExpr.Seq(GrammarExpr.Text("."), D.Repeat(1, 6)).Optional();
        var offset = GrammarExpr.Alt(GrammarExpr.Text("Z"), GrammarExpr.Seq(GrammarExpr.Chars("+-"), hour, colon, minute));
        return GrammarExpr.Seq(hour, colon, minute, colon, minute, fraction, offset);
    }

    private static GrammarExpr Uuid()
    {
        var h = GrammarExpr.Chars(JsonGrammar.HexDigit);
        var dash = GrammarExpr.Text("-");
        return GrammarExpr.Seq(h.Repeat(8, 8), dash, h.Repeat(4, 4), dash, h.Repeat(4, 4), dash, h.Repeat(4, 4), dash, h.Repeat(12, 12));
    }

    private static GrammarExpr Email()
    {
        // local@domain: dot-atoms of letters, digits and the RFC 5322 atom symbols; a domain of one to
        // three labels of 1-20 letters or digits and a TLD of 2-12 letters: within DNS's limits (63 a
        // label, 253 a domain), and short, because every count of a bounded repetition is an
        // automaton position whose token mask must be built.
        var alnum = CodePointSet.FromRanges([('a', 'z'), ('A', 'Z'), ('0', '9')]);
        var atomChar = GrammarExpr.Chars(alnum.Union(CodePointSet.Of("!#$%&'*+/=?^_`{|}~-")));
        var atom = atomChar.Plus();
        var local = GrammarExpr.Seq(atom, GrammarExpr.Seq(GrammarExpr.Text("."), atom).Star());
        var label = GrammarExpr.Chars(alnum).Repeat(1, 20);
        var tld = GrammarExpr.Chars(CodePointSet.FromRanges([('a', 'z'), ('A', 'Z')])).Repeat(2, 12);
        var domain = GrammarExpr.Seq(GrammarExpr.Seq(label, GrammarExpr.Text(".")).Repeat(1, 3), tld);
        return GrammarExpr.Seq(local, GrammarExpr.Text("@"), domain);
    }
}
