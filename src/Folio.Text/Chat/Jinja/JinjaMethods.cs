namespace Folio.Text.Chat.Jinja;

/// <summary>Attribute and item access, and the Python string, dict and list methods templates call.</summary>
internal static class JinjaMethods
{
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Dictionary<string, object?> dict:
                if (dict.TryGetValue(name, out var value))
                {
                    return value;
                }

                return dict is JinjaNamespace ? Undefined.Instance : (object?)DictMethod(dict, name) ?? Undefined.Instance;
            case string s:
                return (object?)StringMethod(s, name) ?? Undefined.Instance;
            case List<object?> list:
                return (object?)ListMethod(list, name) ?? Undefined.Instance;
            default:
                return Undefined.Instance;
        }
    }

    public static object? GetItem(object? target, object? index)
    {
        switch (target, index)
        {
            case (List<object?> list, long i):
                var at = i < 0 ? list.Count + i : i;
                return at >= 0 && at < list.Count ? list[(int)at] : Undefined.Instance;
            case (string s, long i):
                var pos = i < 0 ? s.Length + i : i;
                return pos >= 0 && pos < s.Length ? s[(int)pos].ToString() : Undefined.Instance;
            case (Dictionary<string, object?> dict, _):
                var key = index as string ?? JinjaValues.ToOutput(index);
                return dict.TryGetValue(key, out var v) ? v : Undefined.Instance;
            case (string or List<object?>, string name):
                return GetAttribute(target, name);
            default:
                return Undefined.Instance;
        }
    }

    public static object? Slice(object? target, long? start, long? stop, long? step)
    {
        var s = step ?? 1;
        if (s == 0)
        {
            throw JinjaValues.TypeError("slice step cannot be zero");
        }

        List<object?> items = target switch
        {
            List<object?> list => list,
            string str => str.Select(c => (object?)c.ToString()).ToList(),
            _ => throw JinjaValues.TypeError($"cannot slice {JinjaValues.TypeName(target)}"),
        };
        var n = items.Count;
        var result = new List<object?>();
        if (s > 0)
        {
            var a = start is long x ? (x < 0 ? Math.Max(n + x, 0) : Math.Min(x, n)) : 0;
            var b = stop is long y ? (y < 0 ? Math.Max(n + y, 0) : Math.Min(y, n)) : n;
            for (var i = a; i < b; i += s)
            {
                result.Add(items[(int)i]);
            }
        }
        else
        {
            var a = start is long x ? (x < 0 ? Math.Max(n + x, -1) : Math.Min(x, n - 1)) : n - 1;
            var b = stop is long y ? (y < -1 ? Math.Max(n + y, -1) : Math.Min(y, n - 1)) : -1;
            for (var i = a; i > b; i += s)
            {
                result.Add(items[(int)i]);
            }
        }

        return target is string ? string.Concat(result.Cast<string>()) : result;
    }

    public static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        List<object?> list => list.Any(x => JinjaValues.AreEqual(x, item)),
        Dictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        null or Undefined => false,
        _ => throw JinjaValues.TypeError($"'in' needs a string, list or mapping, not {JinjaValues.TypeName(container)}"),
    };

    private static JinjaCallable? DictMethod(Dictionary<string, object?> dict, string name) => name switch
    {
        "get" => (args, _) => args.Count > 0 && args[0] is string k && dict.TryGetValue(k, out var v) ? v : args.Count > 1 ? args[1] : null,
        "items" => (_, _) => dict.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList(),
        "keys" => (_, _) => dict.Keys.Cast<object?>().ToList(),
        "values" => (_, _) => dict.Values.ToList(),
        _ => null,
    };

    private static JinjaCallable? ListMethod(List<object?> list, string name) => name switch
    {
        "append" => (args, _) =>
        {
            list.AddRange(args);
            return null;
        },
        "index" => (args, _) => (long)list.FindIndex(x => JinjaValues.AreEqual(x, args.Count > 0 ? args[0] : null)),
        "count" => (args, _) => (long)list.Count(x => JinjaValues.AreEqual(x, args.Count > 0 ? args[0] : null)),
        _ => null,
    };

    private static string Arg(IReadOnlyList<object?> args, int i, string method) =>
        i < args.Count && args[i] is string s ? s : throw JinjaValues.TypeError($"{method}() needs a string argument");

    private static char[]? Chars(IReadOnlyList<object?> args) => args.Count > 0 && args[0] is string s ? s.ToCharArray() : null;

    private static JinjaCallable? StringMethod(string s, string name) => name switch
    {
        "strip" => (args, _) => Chars(args) is { } c ? s.Trim(c) : s.Trim(),
        "lstrip" => (args, _) => Chars(args) is { } c ? s.TrimStart(c) : s.TrimStart(),
        "rstrip" => (args, _) => Chars(args) is { } c ? s.TrimEnd(c) : s.TrimEnd(),
        "upper" => (_, _) => s.ToUpperInvariant(),
        "lower" => (_, _) => s.ToLowerInvariant(),
        "title" => (_, _) => JinjaFilters.Title(s),
        "capitalize" => (_, _) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant(),
        "startswith" => (args, _) => Prefixes(args, "startswith").Any(p => s.StartsWith(p, StringComparison.Ordinal)),
        "endswith" => (args, _) => Prefixes(args, "endswith").Any(p => s.EndsWith(p, StringComparison.Ordinal)),
        "split" => (args, _) => Split(s, args),
        "replace" => (args, _) => Replace(s, Arg(args, 0, "replace"), Arg(args, 1, "replace"), args.Count > 2 && args[2] is long n ? n : -1),
        "find" => (args, _) => (long)s.IndexOf(Arg(args, 0, "find"), StringComparison.Ordinal),
        "count" => (args, _) => (long)CountOf(s, Arg(args, 0, "count")),
        "join" => (args, _) => string.Join(s, JinjaValues.Iterate(args.Count > 0 ? args[0] : null).Select(JinjaValues.ToOutput)),
        "splitlines" => (_, _) => s.Split('\n').Select(l => (object?)l.TrimEnd('\r')).ToList(),
        _ => null,
    };

    private static IEnumerable<string> Prefixes(IReadOnlyList<object?> args, string method) => (args.Count > 0 ? args[0] : null) switch
    {
        string p => [p],
        List<object?> list => list.OfType<string>(),
        _ => throw JinjaValues.TypeError($"{method}() needs a string or a tuple of strings"),
    };

    private static List<object?> Split(string s, IReadOnlyList<object?> args)
    {
        var max = args.Count > 1 && args[1] is long m ? (int)m : -1;
        if (args.Count == 0 || args[0] is null)
        {
            var words = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return words.Cast<object?>().ToList();
        }

        var sep = Arg(args, 0, "split");
        if (sep.Length == 0)
        {
            throw JinjaValues.TypeError("split() separator cannot be empty");
        }

        var parts = max >= 0 ? s.Split(sep, max + 1) : s.Split(sep);
        return parts.Cast<object?>().ToList();
    }

    private static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0)
        {
            return old.Length == 0 ? s : s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var sb = new System.Text.StringBuilder();
        var pos = 0;
        for (var done = 0L; done < count; done++)
        {
            var at = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (at < 0 || old.Length == 0)
            {
                break;
            }

            sb.Append(s, pos, at - pos).Append(replacement);
            pos = at + old.Length;
        }

        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    private static int CountOf(string s, string sub)
    {
        if (sub.Length == 0)
        {
            return s.Length + 1;
        }

        var count = 0;
        for (var at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
