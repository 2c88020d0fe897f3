using System.Globalization;
using System.Text;

namespace Folio.Text.Chat.Jinja;

/// <summary>A name that is not defined: falsy, renders as nothing.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Instance = new();

    private Undefined()
    {
    }
}

/// <summary>A callable value: a global function, a bound method, or a macro.</summary>
internal delegate object? JinjaCallable(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);

/// <summary>namespace(): a mutable object whose attributes a template may set from inside loops.</summary>
internal sealed class JinjaNamespace : Dictionary<string, object?>
{
    public JinjaNamespace()
        : base(StringComparer.Ordinal)
    {
    }
}

/// <summary>
/// The value model: null (none), <see cref="Undefined"/>, bool, long, double, string,
/// List&lt;object?&gt; (lists and tuples), Dictionary&lt;string, object?&gt; (insertion-ordered mappings),
/// <see cref="JinjaCallable"/>. Conversions follow @huggingface/jinja, the renderer Hugging Face's
/// JavaScript libraries use, so that output is byte-for-byte the same.
/// </summary>
internal static class JinjaValues
{
    public static bool IsTruthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0 && !double.IsNaN(d),
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        Dictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? value) => value is long or double;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw TypeError($"expected a number, got {TypeName(value)}"),
    };

    public static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined => "undefined",
        bool => "boolean",
        long => "integer",
        double => "float",
        string => "string",
        List<object?> => "list",
        Dictionary<string, object?> => "mapping",
        JinjaCallable => "function",
        _ => value.GetType().Name,
    };

    /// <summary>What {{ value }} writes.</summary>
    public static string ToOutput(object? value) => value switch
    {
        null or Undefined => "",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        List<object?> or Dictionary<string, object?> => ToJson(value, null, null, null, sortKeys: false, ensureAscii: false),
        JinjaCallable => "[function]",
        _ => value.ToString() ?? "",
    };

    /// <summary>A float as @huggingface/jinja prints it: integral values keep ".0", others JavaScript's shortest form.</summary>
    public static string FormatFloat(double d)
    {
        if (double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 1e16)
        {
            return d.ToString("0", CultureInfo.InvariantCulture) + ".0";
        }

        return JsNumber(d);
    }

    /// <summary>JavaScript's Number.prototype.toString for a double.</summary>
    public static string JsNumber(double d)
    {
        if (double.IsNaN(d))
        {
            return "NaN";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "Infinity" : "-Infinity";
        }

        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r;
        }

        var exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (exponent is >= -7 and < 21)
        {
            return ((decimal)d).ToString(CultureInfo.InvariantCulture);
        }

        return r[..e] + "e" + (exponent > 0 ? "+" : "-") + Math.Abs(exponent).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>tojson as @huggingface/jinja writes it (Python's default separators ", " and ": ", or "," with an indent).</summary>
    public static string ToJson(object? value, int? indent, string? itemSeparator, string? keySeparator, bool sortKeys, bool ensureAscii)
    {
        var sb = new StringBuilder();
        WriteJson(sb, value, indent, itemSeparator ?? (indent is > 0 ? "," : ", "), keySeparator ?? ": ", sortKeys, ensureAscii, 0);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, object? value, int? indent, string itemSep, string keySep, bool sortKeys, bool ensureAscii, int depth)
    {
        JinjaSandbox.EnsureStack();
        var pad = indent is > 0 ? new string(' ', indent.Value) : "";
        var basePadding = "\n" + string.Concat(Enumerable.Repeat(pad, depth));
        var childPadding = basePadding + pad;
        switch (value)
        {
            case null or Undefined:
                sb.Append("null");
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(double.IsFinite(d) ? JsNumber(d) : "null");
                break;
            case string s:
                WriteJsonString(sb, s, ensureAscii);
                break;
            case List<object?> list:
                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(itemSep);
                    }

                    if (indent is > 0)
                    {
                        sb.Append(childPadding);
                    }

                    WriteJson(sb, list[i], indent, itemSep, keySep, sortKeys, ensureAscii, depth + 1);
                }

                if (indent is > 0 && list.Count > 0)
                {
                    sb.Append(basePadding);
                }

                sb.Append(']');
                break;
            case Dictionary<string, object?> dict:
                sb.Append('{');
                var entries = sortKeys ? dict.OrderBy(p => p.Key, StringComparer.Ordinal).ToList() : dict.ToList();
                for (var i = 0; i < entries.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(itemSep);
                    }

                    if (indent is > 0)
                    {
                        sb.Append(childPadding);
                    }

                    WriteJsonString(sb, entries[i].Key, ensureAscii);
                    sb.Append(keySep);
                    WriteJson(sb, entries[i].Value, indent, itemSep, keySep, sortKeys, ensureAscii, depth + 1);
                }

                if (indent is > 0 && entries.Count > 0)
                {
                    sb.Append(basePadding);
                }

                sb.Append('}');
                break;
            default:
                throw TypeError($"cannot convert {TypeName(value)} to JSON");
        }
    }

    private static void WriteJsonString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ensureAscii && c >= 0x7F))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }

    public static bool AreEqual(object? a, object? b)
    {
        JinjaSandbox.EnsureStack();
        if (IsNumber(a) && IsNumber(b))
        {
            return ToDouble(a) == ToDouble(b);
        }

        return (a, b) switch
        {
            (null, null) => true,
            (Undefined, Undefined) => true,
            (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
            (bool x, bool y) => x == y,
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
            (Dictionary<string, object?> x, Dictionary<string, object?> y) => x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out var v) && AreEqual(p.Value, v)),
            _ => ReferenceEquals(a, b),
        };
    }

    public static int Compare(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            return ToDouble(a).CompareTo(ToDouble(b));
        }

        if (a is string x && b is string y)
        {
            return string.CompareOrdinal(x, y);
        }

        if (a is bool p && b is bool q)
        {
            return p.CompareTo(q);
        }

        throw TypeError($"cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    /// <summary>The items a for loop or a filter walks: list items, mapping keys, string characters.</summary>
    public static List<object?> Iterate(object? value) => value switch
    {
        List<object?> list => list,
        Dictionary<string, object?> dict => dict.Keys.Cast<object?>().ToList(),
        string s => s.Select(c => (object?)c.ToString()).ToList(),
        null or Undefined => [],
        _ => throw TypeError($"{TypeName(value)} is not iterable"),
    };

    public static ChatTemplateUnsupportedException TypeError(string message) =>
        new("type error", "The chat template failed while rendering: " + message + ".");
}
