using System.Globalization;
using System.Text;

namespace Folio.Text.Chat.Jinja;

/// <summary>The filters of "x | name(args)": Jinja's built-ins that chat templates use, with transformers' tojson.</summary>
internal static class JinjaFilters
{
    public static object? Apply(JinjaInterpreter interpreter, string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        object? Arg(int i, string key, object? fallback = null) =>
            i < args.Count ? args[i] : kwargs.TryGetValue(key, out var v) ? v : fallback;

        switch (name)
        {
            case "length" or "count":
                return value switch
                {
                    string s => (long)s.Length,
                    List<object?> l => (long)l.Count,
                    Dictionary<string, object?> d => (long)d.Count,
                    _ => throw JinjaValues.TypeError($"length of {JinjaValues.TypeName(value)}"),
                };
            case "trim":
                return AsString(value, name).Trim();
            case "upper":
                return AsString(value, name).ToUpperInvariant();
            case "lower":
                return AsString(value, name).ToLowerInvariant();
            case "title":
                return Title(AsString(value, name));
            case "capitalize":
                var c = AsString(value, name);
                return c.Length == 0 ? c : char.ToUpperInvariant(c[0]) + c[1..].ToLowerInvariant();
            case "string":
                return JinjaValues.ToOutput(value);
            case "safe" or "escape" or "e" when name == "safe":
                return value;
            case "int":
                return value switch
                {
                    long l => l,
                    double d => (long)Math.Truncate(d),
                    bool b => b ? 1L : 0L,
                    string s when long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) => (long)Math.Truncate(f),
                    _ => Arg(0, "default", 0L),
                };
            case "float":
                return value switch
                {
                    long l => (double)l,
                    double d => d,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) => f,
                    _ => Arg(0, "default", 0.0),
                };
            case "abs":
                return value is long al ? Math.Abs(al) : Math.Abs(JinjaValues.ToDouble(value));
            case "round":
                var precision = Arg(0, "precision", 0L) is long p ? (int)p : 0;
                return Math.Round(JinjaValues.ToDouble(value), precision, MidpointRounding.ToEven);
            case "default" or "d":
                var useFalsy = Arg(1, "boolean", false) is true;
                return value is Undefined || (useFalsy && !JinjaValues.IsTruthy(value)) ? Arg(0, "default_value", "") : value;
            case "first":
                var firstItems = value is string fs ? fs.Select(ch => (object?)ch.ToString()).ToList() : JinjaValues.Iterate(value);
                return firstItems.Count > 0 ? firstItems[0] : Undefined.Instance;
            case "last":
                var lastItems = value is string ls ? ls.Select(ch => (object?)ch.ToString()).ToList() : JinjaValues.Iterate(value);
                return lastItems.Count > 0 ? lastItems[^1] : Undefined.Instance;
            case "list":
                return value is Dictionary<string, object?> ld ? ld.Keys.Cast<object?>().ToList() : JinjaValues.Iterate(value).ToList();
            case "reverse":
                return value is string rs ? new string(rs.Reverse().ToArray()) : Enumerable.Reverse(JinjaValues.Iterate(value)).ToList();
            case "unique":
                var unique = new List<object?>();
                foreach (var item in JinjaValues.Iterate(value))
                {
                    if (!unique.Any(u => JinjaValues.AreEqual(u, item)))
                    {
                        unique.Add(item);
                    }
                }

                return unique;
            case "join":
                var separator = Arg(0, "d", "") as string ?? "";
                var attribute = Arg(1, "attribute") as string;
                return string.Join(separator, JinjaValues.Iterate(value).Select(x => JinjaValues.ToOutput(attribute is null ? x : JinjaMethods.GetAttribute(x, attribute))));
            case "items":
                return value switch
                {
                    Dictionary<string, object?> d => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
                    null or Undefined => new List<object?>(),
                    _ => throw JinjaValues.TypeError($"items of {JinjaValues.TypeName(value)}"),
                };
            case "dictsort":
                if (value is not Dictionary<string, object?> sortable)
                {
                    throw JinjaValues.TypeError($"dictsort of {JinjaValues.TypeName(value)}");
                }

                var byValue = Arg(2, "by", "key") as string == "value";
                var caseSensitive = Arg(1, "case_sensitive", false) is true;
                var sorted = sortable.Select(kv => new List<object?> { kv.Key, kv.Value }).ToList();
                sorted.Sort((a, b) => CompareKeys(byValue ? a[1] : a[0], byValue ? b[1] : b[0], caseSensitive));
                if (Arg(3, "reverse", false) is true)
                {
                    sorted.Reverse();
                }

                return sorted.Cast<object?>().ToList();
            case "sort":
                var toSort = JinjaValues.Iterate(value).ToList();
                var sortAttribute = Arg(2, "attribute") as string;
                var sortCase = Arg(1, "case_sensitive", false) is true;
                toSort.Sort((a, b) => CompareKeys(sortAttribute is null ? a : JinjaMethods.GetAttribute(a, sortAttribute), sortAttribute is null ? b : JinjaMethods.GetAttribute(b, sortAttribute), sortCase));
                if (Arg(0, "reverse", false) is true)
                {
                    toSort.Reverse();
                }

                return toSort;
            case "max" or "min":
                var pool = JinjaValues.Iterate(value);
                if (pool.Count == 0)
                {
                    return Undefined.Instance;
                }

                return name == "max" ? pool.Aggregate((a, b) => JinjaValues.Compare(b, a) > 0 ? b : a) : pool.Aggregate((a, b) => JinjaValues.Compare(b, a) < 0 ? b : a);
            case "sum":
                object? total = Arg(1, "start", 0L);
                foreach (var item in JinjaValues.Iterate(value))
                {
                    var term = Arg(0, "attribute") is string sa ? JinjaMethods.GetAttribute(item, sa) : item;
                    total = total is long t && term is long u ? t + u : JinjaValues.ToDouble(total) + JinjaValues.ToDouble(term);
                }

                return total;
            case "map":
                return Map(interpreter, value, args, kwargs);
            case "select" or "reject":
                return JinjaValues.Iterate(value).Where(x => Selected(x, args, name == "select")).ToList();
            case "selectattr" or "rejectattr":
                var attr = args.Count > 0 && args[0] is string a0 ? a0 : throw JinjaValues.TypeError($"{name} needs an attribute name");
                return JinjaValues.Iterate(value).Where(x => Selected(JinjaMethods.GetAttribute(x, attr), args.Skip(1).ToList(), name == "selectattr")).ToList();
            case "tojson":
                var indent = Arg(0, "indent") is long i ? (int?)i : null;
                string? itemSep = null, keySep = null;
                if (Arg(99, "separators") is List<object?> { Count: 2 } seps)
                {
                    itemSep = seps[0] as string;
                    keySep = seps[1] as string;
                }

                return JinjaValues.ToJson(value, indent, itemSep, keySep, Arg(99, "sort_keys", false) is true, Arg(99, "ensure_ascii", false) is true);
            case "indent":
                return Indent(AsString(value, name), Arg(0, "width", 4L), Arg(1, "first", false) is true, Arg(2, "blank", false) is true);
            case "replace":
                var old = Arg(0, "old") as string ?? throw JinjaValues.TypeError("replace needs the old string");
                var replacement = Arg(1, "new") as string ?? throw JinjaValues.TypeError("replace needs the new string");
                return JinjaMethods.GetAttribute(AsString(value, name), "replace") is JinjaCallable r
                    ? r(Arg(2, "count") is long times ? [old, replacement, times] : [old, replacement], new Dictionary<string, object?>())
                    : value;
            case "wordcount":
                return (long)AsString(value, name).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            default:
                throw new ChatTemplateUnsupportedException($"filter '{name}'", $"The chat template uses the filter '| {name}', which Folio's template renderer does not support.");
        }
    }

    /// <summary>@huggingface/jinja's title: an ASCII word character after a non-word character is upper-cased (JavaScript's \b\w).</summary>
    public static string Title(string s)
    {
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (IsWord(chars[i]) && (i == 0 || !IsWord(chars[i - 1])))
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }

        return new string(chars);

        static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
    }

    private static string AsString(object? value, string filter) => value switch
    {
        string s => s,
        _ => throw JinjaValues.TypeError($"filter '{filter}' needs a string, got {JinjaValues.TypeName(value)}"),
    };

    private static int CompareKeys(object? a, object? b, bool caseSensitive)
    {
        if (!caseSensitive && a is string x && b is string y)
        {
            return string.CompareOrdinal(x.ToLowerInvariant(), y.ToLowerInvariant());
        }

        return JinjaValues.Compare(a, b);
    }

    private static bool Selected(object? item, IReadOnlyList<object?> args, bool select)
    {
        var passed = args.Count == 0 ? JinjaValues.IsTruthy(item)
            : JinjaTests.Apply(args[0] as string ?? throw JinjaValues.TypeError("select needs a test name"), item, args.Skip(1).ToList());
        return passed == select;
    }

    private static List<object?> Map(JinjaInterpreter interpreter, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var items = JinjaValues.Iterate(value);
        if (kwargs.TryGetValue("attribute", out var attribute) && attribute is string attr)
        {
            return items.Select(x =>
            {
                var v = JinjaMethods.GetAttribute(x, attr);
                return v is Undefined && kwargs.TryGetValue("default", out var d) ? d : v;
            }).ToList();
        }

        if (args.Count > 0 && args[0] is string filter)
        {
            return items.Select(x => Apply(interpreter, filter, x, args.Skip(1).ToList(), new Dictionary<string, object?>())).ToList();
        }

        throw JinjaValues.TypeError("map needs a filter name or attribute=");
    }

    private static string Indent(string text, object? width, bool first, bool blank)
    {
        var pad = width switch
        {
            long w => new string(' ', (int)w),
            string s => s,
            _ => "    ",
        };
        var lines = text.Split('\n');
        var sb = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0)
            {
                sb.Append('\n');
            }

            var indentThis = (i > 0 || first) && (blank || lines[i].Trim().Length > 0);
            sb.Append(indentThis ? pad : "").Append(lines[i]);
        }

        return sb.ToString();
    }
}
