using System.CommandLine;
using System.CommandLine.Invocation;

namespace Folio.Cli.CommandLine;

/// <summary>
/// `folio`: the command tree built from every <see cref="FolioCommand"/> in this assembly, parsed by
/// System.CommandLine, with Folio's help, usage errors (exit code 2) and exit codes.
/// </summary>
public static class FolioCli
{
    public const string Summary = "Folio's command line: run a model in process, talk to workers through the queue, benchmark, check the CUDA backend";

    /// <summary>What `folio GROUP --help` says of a group of commands.</summary>
    private static readonly Dictionary<string, string> GroupSummaries = new(StringComparer.Ordinal)
    {
        ["bench"] = "benchmarks that run Folio and a peer in one process and print ratios",
        ["batch"] = "batches with durable results: submit an OpenAI batch file, follow it, collect its results, cancel it",
        ["cuda"] = "the CUDA backend: compile the kernels, check them on a GPU, benchmark it",
    };

    /// <summary>Every command, by name.</summary>
    public static IReadOnlyList<FolioCommand> Commands { get; } = [.. typeof(FolioCommand).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(FolioCommand).IsAssignableFrom(t))
        .Select(t => (FolioCommand)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Name, StringComparer.Ordinal)];

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the process exit code.</summary>
    /// <param name="handleSignals">Whether Ctrl-C and SIGTERM cancel the command (the process does; tests do not).</param>
    public static async Task<int> RunAsync(string[] args, CliContext context, bool handleSignals = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);

        var (parse, commands) = Parse(args, context);
        if (parse.Action is ParseErrorAction || UsageErrors.MissingRequired(parse, commands).Count > 0)
        {
            return UsageErrors.Report(parse, commands, context.Error);
        }

        return await parse.InvokeAsync(
            new InvocationConfiguration
            {
                Output = context.Out,
                Error = context.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = handleSignals ? TimeSpan.FromSeconds(2) : null,
            },
            cancellationToken);
    }

    /// <summary>Parses without running: the parse and which definition each parsed command came from.</summary>
    internal static (ParseResult Parse, Dictionary<Command, FolioCommand> Commands) Parse(string[] args, CliContext context)
    {
        // `folio help [COMMAND...]` as the earlier CLI had it: the same as `folio [COMMAND...] --help`.
        if (args is ["help", .. var rest])
        {
            args = [.. rest, "--help"];
        }

        var (root, commands) = Build(context);

        // No response files: a prompt that starts with @ is a prompt, as it was before.
        return (root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null }), commands);
    }

    /// <summary>The help text `folio WORDS --help` prints, for the docs and their test.</summary>
    public static string HelpFor(string words)
    {
        var command = Commands.FirstOrDefault(c => c.Name == words);
        if (command is not null)
        {
            return HelpWriter.ForCommand(command);
        }

        var members = Commands.Where(c => words.Length == 0 || c.Name.StartsWith(words + " ", StringComparison.Ordinal)).ToList();
        return members.Count == 0
            ? throw new ArgumentException($"no command or group '{words}'", nameof(words))
            : HelpWriter.ForGroup(words, words.Length == 0 ? Summary : GroupSummary(words), members);
    }

    /// <summary>The group names (bench, cuda) in the order help lists them.</summary>
    public static IEnumerable<string> Groups => Commands.Where(c => c.Name.Contains(' ', StringComparison.Ordinal)).Select(c => c.Name[..c.Name.LastIndexOf(' ')]).Distinct(StringComparer.Ordinal);

    private static string GroupSummary(string words) => GroupSummaries.GetValueOrDefault(words, $"the {words} commands");

    private static (RootCommand Root, Dictionary<Command, FolioCommand> Commands) Build(CliContext context)
    {
        var root = new RootCommand(Summary);
        var byCommand = new Dictionary<Command, FolioCommand>();
        var groups = new Dictionary<string, Command>(StringComparer.Ordinal) { [string.Empty] = root };
        foreach (var definition in Commands)
        {
            string[] words = definition.Name.Split(' ');
            Command parent = root;
            for (int i = 0; i < words.Length - 1; i++)
            {
                string prefix = string.Join(' ', words[..(i + 1)]);
                if (!groups.TryGetValue(prefix, out var group))
                {
                    group = new Command(words[i], GroupSummary(prefix));
                    groups[prefix] = group;
                    parent.Subcommands.Add(group);
                }

                parent = group;
            }

            var command = new Command(words[^1], definition.Summary);
            foreach (var argument in definition.Arguments)
            {
                command.Arguments.Add(argument.Argument);
            }

            foreach (var option in definition.AllOptions)
            {
                command.Options.Add(option.CommandLineOption);
            }

            command.SetAction((parse, ct) => RunCommandAsync(definition, parse, context, ct));
            parent.Subcommands.Add(command);
            byCommand[command] = definition;
        }

        // One help for every command and group, written from the definitions.
        foreach (var option in root.Options)
        {
            if (option is System.CommandLine.Help.HelpOption help)
            {
                help.Action = new HelpAction(byCommand);
            }
        }

        return (root, byCommand);
    }

    private static async Task<int> RunCommandAsync(FolioCommand command, ParseResult parse, CliContext context, CancellationToken ct)
    {
        // Return to the invoker at once, so that its Ctrl-C handling is in place before a command
        // whose body is synchronous (the benchmarks) starts.
        await Task.Yield();
        try
        {
            return await command.RunAsync(parse, context, ct);
        }
        catch (CliUsageException e)
        {
            return UsageErrors.Report(command, e.Message, context.Error);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync($"folio {command.Name}: cancelled");
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (RuntimeFailures.IsExpected(e))
        {
            await context.Error.WriteLineAsync($"folio {command.Name}: {RuntimeFailures.Describe(e)}");
            return ExitCodes.Failure;
        }
#pragma warning disable CA1031 // Any other failure is a bug: say so with the stack trace, and exit 1 as documented.
        catch (Exception e)
#pragma warning restore CA1031
        {
            await context.Error.WriteLineAsync($"folio {command.Name}: failed: {e}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>`--help` for whichever command or group was named.</summary>
    private sealed class HelpAction(Dictionary<Command, FolioCommand> commands) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var command = parseResult.CommandResult.Command;
            string text = commands.TryGetValue(command, out var definition)
                ? HelpWriter.ForCommand(definition)
                : HelpFor(WordsOf(parseResult.CommandResult));
            parseResult.InvocationConfiguration.Output.Write(text);
            return ExitCodes.Success;
        }
    }

    /// <summary>"bench cpu" for the result of `folio bench cpu`; empty for the root.</summary>
    internal static string WordsOf(System.CommandLine.Parsing.CommandResult result)
    {
        var words = new List<string>();
        for (var r = result; r?.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent)
        {
            words.Insert(0, r.Command.Name);
        }

        return string.Join(' ', words);
    }
}
