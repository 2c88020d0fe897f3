using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Folio.Cli.CommandLine;

/// <summary>
/// Turns what System.CommandLine found wrong into Folio's usage errors: one line per problem that
/// names the option (or word) and says what is accepted, then the usage line and where the full
/// help is. Always exit code 2.
/// </summary>
internal static class UsageErrors
{
    /// <summary>Required options that were not given (checked here, so the message can say what to give).</summary>
    public static List<string> MissingRequired(ParseResult parse, Dictionary<Command, FolioCommand> commands)
    {
        var missing = new List<string>();
        // --help and --version need nothing else.
        if (parse.Action is SynchronousCommandLineAction and not ParseErrorAction || !commands.TryGetValue(parse.CommandResult.Command, out var definition))
        {
            return missing;
        }

        foreach (var option in definition.AllOptions.Where(o => o.IsRequired))
        {
            if (parse.GetResult(option.CommandLineOption) is null)
            {
                missing.Add($"{option.CommandLineOption.Name} is required: {option.ValueName}, {option.Description}");
            }
        }

        return missing;
    }

    public static int Report(ParseResult parse, Dictionary<Command, FolioCommand> commands, TextWriter error)
    {
        var command = parse.CommandResult.Command;
        commands.TryGetValue(command, out var definition);
        string words = FolioCli.WordsOf(parse.CommandResult);
        string self = words.Length == 0 ? "folio" : "folio " + words;

        var messages = new List<string>();
        messages.AddRange(MissingRequired(parse, commands));
        if (parse.UnmatchedTokens.Count > 0)
        {
            messages.Add(Unmatched(parse.UnmatchedTokens[0], words, definition));
        }

        foreach (var e in parse.Errors)
        {
            if (Describe(e, definition) is { } message)
            {
                messages.Add(message);
            }
        }

        if (messages.Count == 0 && definition is null)
        {
            // `folio` or `folio bench` alone: say what the commands are.
            error.Write(FolioCli.HelpFor(words));
            return ExitCodes.Usage;
        }

        foreach (string m in messages.Distinct(StringComparer.Ordinal))
        {
            error.WriteLine($"{self}: {m}");
        }

        if (definition is not null)
        {
            error.WriteLine($"usage: folio {definition.Name} {definition.Synopsis}");
        }

        error.WriteLine($"run '{self} --help' for {(definition is null ? "its commands" : "every option")}");
        return ExitCodes.Usage;
    }

    /// <summary>A usage error a command found after parsing (options that exclude each other...).</summary>
    public static int Report(FolioCommand command, string message, TextWriter error)
    {
        error.WriteLine($"folio {command.Name}: {message}");
        error.WriteLine($"usage: folio {command.Name} {command.Synopsis}");
        error.WriteLine($"run 'folio {command.Name} --help' for every option");
        return ExitCodes.Usage;
    }

    /// <summary>The message for one parse error; null for those <see cref="Unmatched"/> already said.</summary>
    private static string? Describe(ParseError e, FolioCommand? definition)
    {
        switch (e.SymbolResult)
        {
            case OptionResult { Option: IFolioOption option } result when result.Tokens.Count == 0:
                return CliOptions.NeedsValue(option.CommandLineOption.Name, option.ValueName ?? "a value", nextToken: null);
            case OptionResult { Option: IFolioOption option } result when result.Tokens.Count > 1 && option.CommandLineOption.Arity.MaximumNumberOfValues == 1:
                return $"{option.CommandLineOption.Name} was given {result.Tokens.Count} times ({string.Join(", ", result.Tokens.Select(t => $"'{t.Value}'"))}); give it once";
            case OptionResult:
                // The option's own parser wrote it: it names the option, what it accepts and what it got.
                return e.Message;
            case ArgumentResult { Argument: var argument } when definition?.Arguments.FirstOrDefault(a => a.Argument == argument) is { } known:
                return $"give {argument.Name}: {known.Description}";
            case CommandResult:
                // Unknown words are reported once by Unmatched; a group without its command by the caller.
                return null;
            default:
                return e.Message;
        }
    }

    private static string Unmatched(string token, string words, FolioCommand? definition)
    {
        if (definition is null)
        {
            var names = FolioCli.Commands.Where(c => words.Length == 0 || c.Name.StartsWith(words + " ", StringComparison.Ordinal)).Select(c => c.Name).ToList();
            return $"unknown command '{(words.Length == 0 ? token : words + " " + token)}'; the commands are {string.Join(", ", names)}";
        }

        if (!token.StartsWith('-'))
        {
            return definition.Arguments.Count == 0
                ? $"unexpected argument '{token}': folio {definition.Name} takes no positional arguments (a value follows its option, e.g. --name VALUE)"
                : $"unexpected argument '{token}': folio {definition.Name} takes {string.Join(" ", definition.Arguments.Select(a => a.Argument.Name))} only";
        }

        string name = token.Split('=', ':')[0];
        var options = definition.AllOptions.SelectMany(o => o.CommandLineOption.Aliases.Prepend(o.CommandLineOption.Name)).ToList();
        string? guess = options.Select(o => (Name: o, Distance: Distance(name, o))).Where(x => x.Distance <= Math.Max(2, name.Length / 4)).OrderBy(x => x.Distance).Select(x => x.Name).FirstOrDefault();
        string suggestion = guess is null ? string.Empty : $" (did you mean {guess}?)";
        return $"unknown option '{name}'{suggestion}; the options of folio {definition.Name} are {string.Join(", ", definition.AllOptions.Select(o => o.CommandLineOption.Name))}, --help";
    }

    /// <summary>Levenshtein distance, for the "did you mean" hint.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), substitution);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
