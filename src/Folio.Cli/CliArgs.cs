using System.Globalization;

namespace Folio.Cli;

/// <summary>Thrown for a command line a user must correct; the message says what to change.</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>
/// A small `--key value` / `--flag` parser. Every option read is remembered so that unknown options
/// can be reported instead of silently ignored.
/// </summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public CliArgs(IReadOnlyList<string> args)
    {
        var positional = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                string key = a[2..];
                string? value = null;
                int eq = key.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    value = key[(eq + 1)..];
                    key = key[..eq];
                }
                else if (i + 1 < args.Count && !IsOptionName(args[i + 1]))
                {
                    value = args[++i];
                }

                _options[key] = value;
            }
            else
            {
                positional.Add(a);
            }
        }

        Positional = positional;
    }

    public IReadOnlyList<string> Positional { get; }

    private static bool IsOptionName(string s) => s.StartsWith("--", StringComparison.Ordinal) && s.Length > 2 && !char.IsDigit(s[2]);

    public bool Has(string key)
    {
        _read.Add(key);
        return _options.ContainsKey(key);
    }

    public bool Flag(string key)
    {
        _read.Add(key);
        if (!_options.TryGetValue(key, out var v))
        {
            return false;
        }

        return v is null || v is "true" or "1" or "yes"
            ? true
            : v is "false" or "0" or "no" ? false : throw new CliUsageException($"--{key} is a flag; got '{v}'");
    }

    public string? String(string key)
    {
        _read.Add(key);
        if (!_options.TryGetValue(key, out var v))
        {
            return null;
        }

        return v ?? throw new CliUsageException($"--{key} needs a value");
    }

    public string RequireString(string key) => String(key) ?? throw new CliUsageException($"--{key} is required");

    public int Int(string key, int defaultValue) => String(key) is { } s ? ParseInt(key, s) : defaultValue;

    public int? OptionalInt(string key) => String(key) is { } s ? ParseInt(key, s) : null;

    public long? OptionalLong(string key)
    {
        if (String(key) is not { } s)
        {
            return null;
        }

        return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : throw new CliUsageException($"--{key} must be an integer; got '{s}'");
    }

    public double Double(string key, double defaultValue)
    {
        if (String(key) is not { } s)
        {
            return defaultValue;
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new CliUsageException($"--{key} must be a number; got '{s}'");
    }

    /// <summary>A comma-separated list of integers, e.g. --prompt-token-ids 1,2,3.</summary>
    public int[]? IntList(string key)
    {
        if (String(key) is not { } s)
        {
            return null;
        }

        return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => ParseInt(key, x)).ToArray();
    }

    /// <summary>Throws naming the first option no code asked for (a typo, or an option of another command).</summary>
    public void RejectUnknown()
    {
        foreach (var key in _options.Keys)
        {
            if (!_read.Contains(key))
            {
                throw new CliUsageException($"unknown option --{key}");
            }
        }
    }

    private static int ParseInt(string key, string s) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new CliUsageException($"--{key} must be an integer; got '{s}'");
}
