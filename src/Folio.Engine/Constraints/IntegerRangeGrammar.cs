using System.Globalization;

namespace Folio.Engine.Constraints;

/// <summary>
/// The decimal texts (no leading zeros, "-" for negatives, no "-0") of exactly the integers in a
/// range, as a grammar expression: the range splits by digit count and then digit by digit.
/// Unbounded sides stop at <see cref="JsonGrammar.MaxDigits"/> digits.
/// </summary>
internal static class IntegerRangeGrammar
{
    public static GrammarExpr Build(long? min, long? max)
    {
        long unbounded = (long)Math.Pow(10, JsonGrammar.MaxDigits) - 1;
        long lo = min ?? -unbounded;
        long hi = max ?? unbounded;
        if (lo > hi)
        {
            throw new ConstraintException($"the integer range [{lo}, {hi}] is empty; check minimum/maximum");
        }

        var parts = new List<GrammarExpr>();
        if (lo < 0)
        {
            // Negative part: "-" then m in [max(1, -hi), -lo].
            ulong mLo = hi < 0 ? (ulong)(-(hi + 1)) + 1 : 1;
            ulong mHi = (ulong)(-(lo + 1)) + 1;
            parts.Add(GrammarExpr.Seq(GrammarExpr.Text("-"), NonNegative(mLo, mHi)));
        }

        if (hi >= 0)
        {
            parts.Add(NonNegative((ulong)Math.Max(lo, 0), (ulong)hi));
        }

        return GrammarExpr.Alt([.. parts]);
    }

    private static GrammarExpr NonNegative(ulong lo, ulong hi)
    {
        var parts = new List<GrammarExpr>();
        int loDigits = Digits(lo), hiDigits = Digits(hi);
        for (int d = loDigits; d <= hiDigits; d++)
        {
            ulong first = d == 1 ? 0 : Pow10(d - 1);
            ulong last = d >= 20 ? ulong.MaxValue : Pow10(d) - 1;
            ulong a = Math.Max(lo, first), b = Math.Min(hi, last);
            if (a <= b)
            {
                parts.Add(SameLength(a.ToString(CultureInfo.InvariantCulture), b.ToString(CultureInfo.InvariantCulture)));
            }
        }

        return GrammarExpr.Alt([.. parts]);
    }

    /// <summary>Digit strings of one length between x and y inclusive.</summary>
    private static GrammarExpr SameLength(string x, string y)
    {
        if (x.Length == 0)
        {
            return GrammarExpr.Empty;
        }

        if (x[0] == y[0])
        {
            return GrammarExpr.Seq(GrammarExpr.Text(x[..1]), SameLength(x[1..], y[1..]));
        }

        int n = x.Length - 1;
        if (x.AsSpan(1).IndexOfAnyExcept('0') < 0 && y.AsSpan(1).IndexOfAnyExcept('9') < 0)
        {
            return GrammarExpr.Seq(GrammarExpr.Range(x[0], y[0]), JsonGrammar.Digit.Repeat(n, n));
        }

        var parts = new List<GrammarExpr>
        {
            GrammarExpr.Seq(GrammarExpr.Text(x[..1]), SameLength(x[1..], new string('9', n))),
        };
        if (y[0] - x[0] > 1)
        {
            parts.Add(GrammarExpr.Seq(GrammarExpr.Range(x[0] + 1, y[0] - 1), JsonGrammar.Digit.Repeat(n, n)));
        }

        parts.Add(GrammarExpr.Seq(GrammarExpr.Text(y[..1]), SameLength(new string('0', n), y[1..])));
        return GrammarExpr.Alt([.. parts]);
    }

    private static int Digits(ulong v) => v.ToString(CultureInfo.InvariantCulture).Length;

    private static ulong Pow10(int d)
    {
        ulong r = 1;
        for (int i = 0; i < d; i++)
        {
            r *= 10;
        }

        return r;
    }
}
