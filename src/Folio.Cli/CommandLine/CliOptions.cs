using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Folio.Engine.Kv;

namespace Folio.Cli.CommandLine;

/// <summary>
/// Makes the options of `folio` commands. Each kind of value has one parser here, and every parse
/// error names the option, says what it accepts and quotes what it got, e.g.
/// "--max-tokens must be an integer >= 1; got 'abc'".
/// </summary>
public static class CliOptions
{
    /// <summary>A flag: present or absent (also --flag true / --flag false).</summary>
    public static FolioOption<bool> Flag(string name, string description, params string[] oldSpellings) =>
        new(name, valueName: null, description, oldSpellings);

    public static FolioOption<int> Int(string name, string valueName, string description, int defaultValue, int min = int.MinValue, int max = int.MaxValue, params string[] oldSpellings)
    {
        var option = new FolioOption<int>(name, valueName, description, oldSpellings)
        {
            DefaultText = Invariant(defaultValue),
            DefaultValueFactory = _ => defaultValue,
        };
        option.CustomParser = r => ParseInt(r, name, min, max) ?? defaultValue;
        return option;
    }

    /// <summary>An integer with no fixed default: null when absent (the command decides, as help's <paramref name="defaultText"/> says).</summary>
    public static FolioOption<int?> OptionalInt(string name, string valueName, string description, string? defaultText = null, int min = int.MinValue, int max = int.MaxValue, bool required = false)
    {
        var option = new FolioOption<int?>(name, valueName, description, []) { DefaultText = defaultText, IsRequired = required };
        option.CustomParser = r => ParseInt(r, name, min, max);
        return option;
    }

    public static FolioOption<long?> OptionalLong(string name, string valueName, string description, string? defaultText = null)
    {
        var option = new FolioOption<long?>(name, valueName, description, []) { DefaultText = defaultText };
        option.CustomParser = r =>
        {
            if (Value(r, name, "an integer") is not { } text)
            {
                return null;
            }

            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            {
                return v;
            }

            r.AddError($"{name} must be an integer; got '{text}'");
            return null;
        };
        return option;
    }

    public static FolioOption<double> Double(string name, string valueName, string description, double defaultValue, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        var option = new FolioOption<double>(name, valueName, description, [])
        {
            DefaultText = Invariant(defaultValue),
            DefaultValueFactory = _ => defaultValue,
        };
        string accepted = Range("a number", min, max);
        option.CustomParser = r =>
        {
            if (Value(r, name, accepted) is not { } text)
            {
                return defaultValue;
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v >= min && v <= max)
            {
                return v;
            }

            r.AddError($"{name} must be {accepted}; got '{text}'");
            return defaultValue;
        };
        return option;
    }

    /// <summary>Free text; null when absent unless <paramref name="defaultValue"/> is given.</summary>
    public static FolioOption<string?> String(string name, string valueName, string description, string? defaultValue = null, bool required = false, string? defaultText = null)
    {
        var option = new FolioOption<string?>(name, valueName, description, [])
        {
            DefaultText = defaultText ?? defaultValue,
            IsRequired = required,
            DefaultValueFactory = _ => defaultValue,
        };

        option.CustomParser = r => Value(r, name, "a value") ?? defaultValue;
        return option;
    }

    /// <summary>Free text that may be given more than once (--stop a --stop b).</summary>
    public static FolioOption<string[]> Repeated(string name, string valueName, string description)
    {
        var option = new FolioOption<string[]>(name, valueName, description, [])
        {
            DefaultValueFactory = _ => [],
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        option.CustomParser = r =>
        {
            var values = new List<string>(r.Tokens.Count);
            foreach (var token in r.Tokens)
            {
                if (LooksLikeOption(token.Value))
                {
                    r.AddError(NeedsValue(name, "a value", token.Value));
                    return [];
                }

                values.Add(token.Value);
            }

            return [.. values];
        };
        return option;
    }

    /// <summary>One of a fixed set of words, e.g. --backend auto|cpu|cuda.</summary>
    public static FolioOption<string> Choice(string name, string description, string defaultValue, params string[] choices) =>
        Choice(name, description, defaultValue, required: false, choices);

    /// <summary>One of a fixed set of words that must be given, e.g. --format hf|gguf.</summary>
    public static FolioOption<string> RequiredChoice(string name, string description, params string[] choices) =>
        Choice(name, description, defaultValue: null, required: true, choices);

    /// <summary>A comma-separated list of integers, e.g. --batches 8,32,64; null when absent unless a default is given.</summary>
    public static FolioOption<int[]?> IntList(string name, string valueName, string description, int[]? defaultValue = null, int min = int.MinValue)
    {
        var option = new FolioOption<int[]?>(name, valueName, description, [])
        {
            DefaultText = defaultValue is null ? null : string.Join(',', defaultValue.Select(Invariant)),

            // Explicitly: without it System.CommandLine gives an absent list option an empty array.
            DefaultValueFactory = _ => defaultValue,
        };

        string accepted = min == int.MinValue ? "a comma-separated list of integers such as 1,2,3" : $"a comma-separated list of integers >= {Invariant(min)} such as 1,2,3";
        option.CustomParser = r =>
        {
            if (Value(r, name, accepted) is not { } text)
            {
                return defaultValue;
            }

            var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var values = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] < min)
                {
                    r.AddError($"{name} must be {accepted}; got '{text}'");
                    return defaultValue;
                }
            }

            if (values.Length == 0)
            {
                r.AddError($"{name} must be {accepted}; got '{text}'");
                return defaultValue;
            }

            return values;
        };
        return option;
    }

    /// <summary>
    /// The value of a list option without a default: null when it was not given. (System.CommandLine
    /// turns an absent list into an empty array whatever the default says; the parser here never
    /// lets an empty list through, so empty means absent.)
    /// </summary>
    public static int[]? GetIntList(this ParseResult parse, FolioOption<int[]?> option)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetValue(option) is { Length: > 0 } values ? values : null;
    }

    /// <summary>A memory size in bytes, written as the engine's <see cref="ByteSize"/> reads it (512MiB, 2GiB, 64G).</summary>
    public static FolioOption<long> Size(string name, string description, string defaultValue)
    {
        long defaultBytes = ByteSize.Parse(defaultValue, name);
        var option = new FolioOption<long>(name, "SIZE", description, [])
        {
            DefaultText = defaultValue,
            DefaultValueFactory = _ => defaultBytes,
        };
        const string accepted = "a memory size such as 512MiB, 2GiB or 64G";
        option.CustomParser = r =>
        {
            if (Value(r, name, accepted) is not { } text)
            {
                return defaultBytes;
            }

            if (ByteSize.TryParse(text, out long bytes) && bytes > 0)
            {
                return bytes;
            }

            r.AddError($"{name} must be {accepted}; got '{text}'");
            return defaultBytes;
        };
        return option;
    }

    /// <summary>
    /// What parse errors about a missing value say: System.CommandLine reports those itself (an
    /// option last on the line), and the parsers here (an option followed by another option).
    /// </summary>
    internal static string NeedsValue(string name, string accepted, string? nextToken) => nextToken is null
        ? $"{name} needs a value: {accepted}"
        : $"{name} needs a value: {accepted}; got the option '{nextToken}' instead";

    /// <summary>
    /// A word that starts with "--" and a letter is an option name, never a value, as in the
    /// earlier parser: `--model --prompt x` is a missing --model, not a model called "--prompt".
    /// </summary>
    internal static bool LooksLikeOption(string token) => token.Length > 2 && token.StartsWith("--", StringComparison.Ordinal) && char.IsAsciiLetter(token[2]);

    private static FolioOption<string> Choice(string name, string description, string? defaultValue, bool required, string[] choices)
    {
        string valueName = string.Join('|', choices);
        var option = new FolioOption<string>(name, valueName, description, [])
        {
            DefaultText = defaultValue,
            IsRequired = required,
        };
        if (defaultValue is not null)
        {
            option.DefaultValueFactory = _ => defaultValue;
        }

        string accepted = "one of " + string.Join(", ", choices);
        option.CustomParser = r =>
        {
            if (Value(r, name, accepted) is not { } text)
            {
                return defaultValue!;
            }

            if (choices.Contains(text, StringComparer.Ordinal))
            {
                return text;
            }

            r.AddError($"{name} must be {accepted}; got '{text}'");
            return defaultValue!;
        };
        return option;
    }

    private static int? ParseInt(ArgumentResult r, string name, int min, int max)
    {
        string accepted = Range("an integer", min, max);
        if (Value(r, name, accepted) is not { } text)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max)
        {
            return v;
        }

        r.AddError($"{name} must be {accepted}; got '{text}'");
        return null;
    }

    /// <summary>The single value given, or null after reporting why there is none.</summary>
    private static string? Value(ArgumentResult r, string name, string accepted)
    {
        if (r.Tokens.Count == 0)
        {
            return null;
        }

        string text = r.Tokens[^1].Value;
        if (LooksLikeOption(text))
        {
            r.AddError(NeedsValue(name, accepted, text));
            return null;
        }

        return text;
    }

    private static string Range(string what, double min, double max) => (double.IsFinite(min) && min > int.MinValue, double.IsFinite(max) && max < int.MaxValue) switch
    {
        (true, true) => $"{what} from {Invariant(min)} to {Invariant(max)}",
        (true, false) => $"{what} >= {Invariant(min)}",
        (false, true) => $"{what} <= {Invariant(max)}",
        _ => what,
    };

    internal static string Invariant<T>(T value)
        where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);
}
