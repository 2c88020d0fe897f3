using System.Globalization;
using System.Text;

namespace Folio.Text.Chat.Jinja;

/// <summary>The functions every chat template can call.</summary>
internal static class JinjaGlobals
{
    private static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static Dictionary<string, object?> Create(Func<DateTimeOffset> clock) => new(StringComparer.Ordinal)
    {
        ["raise_exception"] = (JinjaCallable)((args, _) => throw new ChatTemplateRaisedException(args.Count > 0 ? JinjaValues.ToOutput(args[0]) : "the chat template raised an exception")),
        ["strftime_now"] = (JinjaCallable)((args, _) => Strftime(clock(), args.Count > 0 && args[0] is string f ? f : throw JinjaValues.TypeError("strftime_now needs a format string"))),
        ["namespace"] = (JinjaCallable)((_, kwargs) =>
        {
            var ns = new JinjaNamespace();
            foreach (var (k, v) in kwargs)
            {
                ns[k] = v;
            }

            return ns;
        }),
        ["dict"] = (JinjaCallable)((_, kwargs) => kwargs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)),
        ["range"] = (JinjaCallable)((args, _) => Range(args)),
    };

    private static List<object?> Range(IReadOnlyList<object?> args)
    {
        long Get(int i) => args[i] is long l ? l : throw JinjaValues.TypeError("range needs integers");
        var (start, stop, step) = args.Count switch
        {
            1 => (0L, Get(0), 1L),
            2 => (Get(0), Get(1), 1L),
            3 => (Get(0), Get(1), Get(2)),
            _ => throw JinjaValues.TypeError("range takes 1 to 3 arguments"),
        };
        if (step == 0)
        {
            throw JinjaValues.TypeError("range step cannot be zero");
        }

        var count = step > 0 ? Math.Max(0, (stop - start + step - 1) / step) : Math.Max(0, (start - stop - step - 1) / -step);
        if (count > 1_000_000)
        {
            throw new ChatTemplateUnsupportedException("limit: range size", $"The chat template asks for range() of {count} items, over the renderer's limit of 1000000.");
        }

        var result = new List<object?>((int)count);
        for (var v = start; step > 0 ? v < stop : v > stop; v += step)
        {
            result.Add(v);
        }

        return result;
    }

    /// <summary>The strftime directives @huggingface/jinja implements (%Y %m %d %b %B %H %M %%); others stay as written.</summary>
    public static string Strftime(DateTimeOffset now, string format)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            var d = format[++i];
            switch (d)
            {
                case 'Y': sb.Append(now.Year.ToString(CultureInfo.InvariantCulture)); break;
                case 'm': sb.Append(now.Month.ToString("00", CultureInfo.InvariantCulture)); break;
                case 'd': sb.Append(now.Day.ToString("00", CultureInfo.InvariantCulture)); break;
                case 'H': sb.Append(now.Hour.ToString("00", CultureInfo.InvariantCulture)); break;
                case 'M': sb.Append(now.Minute.ToString("00", CultureInfo.InvariantCulture)); break;
                case 'B': sb.Append(Months[now.Month - 1]); break;
                case 'b': sb.Append(Months[now.Month - 1][..3]); break;
                case '%': sb.Append('%'); break;
                default: sb.Append('%').Append(d); break;
            }
        }

        return sb.ToString();
    }
}
