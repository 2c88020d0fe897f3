namespace Folio.Worker.Tests.Deployment;

/// <summary>
/// The metric names a PromQL expression selects: every identifier that is not a function, an
/// aggregation clause, a keyword, a label matcher, a range or a string. Enough PromQL for the
/// expressions a dashboard and a scaler hold; it reads no grammar it does not need.
/// </summary>
internal static class PromQl
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan",
    };

    /// <summary>Aggregation operators: followed by "(" or by a by/without clause ("sum by (le) (...)").</summary>
    private static readonly HashSet<string> Aggregations = new(StringComparer.Ordinal)
    {
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    };

    private static readonly HashSet<string> Clauses = new(StringComparer.Ordinal) { "by", "without", "on", "ignoring", "group_left", "group_right" };

    public static List<string> MetricNames(string expr)
    {
        string s = Blank(expr);
        var names = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1])))
            {
                // A number (0.99, 1e3) or a duration after offset (5m).
                while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '.' or '_'))
                {
                    i++;
                }

                continue;
            }

            if (!IsIdentifierStart(c))
            {
                i++;
                continue;
            }

            int start = i;
            while (i < s.Length && IsIdentifierPart(s[i]))
            {
                i++;
            }

            string word = s[start..i];
            int next = i;
            while (next < s.Length && char.IsWhiteSpace(s[next]))
            {
                next++;
            }

            bool call = next < s.Length && s[next] == '(';
            if (call && Clauses.Contains(word))
            {
                // by (le, code): label names, not metrics.
                i = s.IndexOf(')', next) + 1;
                if (i == 0)
                {
                    throw new FormatException("unclosed '(' after " + word + " in: " + expr);
                }
            }
            else if (!call && !Keywords.Contains(word) && !Aggregations.Contains(word))
            {
                names.Add(word);
            }
        }

        return names;
    }

    /// <summary>Replaces strings, label matchers {...} and ranges [...] by spaces: none of them names a metric.</summary>
    private static string Blank(string expr)
    {
        var chars = expr.ToCharArray();
        int i = 0;
        while (i < chars.Length)
        {
            char open = chars[i];
            char close = open switch { '"' => '"', '\'' => '\'', '`' => '`', '{' => '}', '[' => ']', _ => '\0' };
            if (close == '\0')
            {
                i++;
                continue;
            }

            int j = i + 1;
            bool quoted = open is '"' or '\'' or '`';
            while (j < chars.Length && chars[j] != close)
            {
                if (quoted && open != '`' && chars[j] == '\\')
                {
                    j++;
                }
                else if (!quoted && chars[j] is '"' or '\'' or '`')
                {
                    // A matcher's value may hold '}' or ']': skip the quoted value whole.
                    char q = chars[j];
                    j++;
                    while (j < chars.Length && chars[j] != q)
                    {
                        j += chars[j] == '\\' && q != '`' ? 2 : 1;
                    }
                }

                j++;
            }

            if (j >= chars.Length)
            {
                throw new FormatException($"unclosed '{open}' in: {expr}");
            }

            Array.Fill(chars, ' ', i, j - i + 1);
            i = j + 1;
        }

        return new string(chars);
    }

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c is '_' or ':';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':';
}
