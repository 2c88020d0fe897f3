using System.CommandLine;

namespace Folio.Cli.CommandLine;

/// <summary>
/// One `folio` command. Commands are found by reflection, so adding one is one file: a sealed class
/// with a parameterless constructor that passes its words and summary, adds its options (its own,
/// and shared groups from Options/), and implements <see cref="RunAsync"/>. Parsing, help, usage
/// errors, exit codes and docs/cli.md all come from these definitions.
/// </summary>
public abstract class FolioCommand
{
    private readonly List<OptionSection> _sections = [new OptionSection("Options", [])];
    private readonly List<CommandArgument> _arguments = [];

    protected FolioCommand(string name, string summary)
    {
        Name = name;
        Summary = summary;
    }

    /// <summary>The words that select it, e.g. "generate" or "bench cpu".</summary>
    public string Name { get; }

    /// <summary>One line for `folio --help` and the top of its own help.</summary>
    public string Summary { get; }

    /// <summary>What follows `folio NAME` in the usage line; by default the positional arguments and [options].</summary>
    public virtual string Synopsis => string.Join(' ', _arguments.Select(a => a.Argument.Name).Append("[options]"));

    /// <summary>Paragraphs help prints after the options (what the command does that options cannot say).</summary>
    public virtual IReadOnlyList<string> Notes => [];

    /// <summary>Exit codes of this command besides the common ones (<see cref="ExitCodes.Common"/>).</summary>
    public virtual IReadOnlyList<ExitCode> OwnExitCodes => [];

    /// <summary>Its options in help's order: the command's own first, then each shared group under its title.</summary>
    public IReadOnlyList<OptionSection> Sections => _sections;

    public IReadOnlyList<CommandArgument> Arguments => _arguments;

    public IEnumerable<IFolioOption> AllOptions => _sections.SelectMany(s => s.Options);

    /// <summary>Runs the command on a parse without errors; returns its exit code.</summary>
    public abstract Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken);

    /// <summary>Adds options of the command's own to the first section.</summary>
    protected void Add(params IFolioOption[] options) => _sections[0].Options.AddRange(options);

    /// <summary>Adds a shared group of options (engine, queue connection) as a section of its own.</summary>
    protected void Add(IOptionGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        _sections.Add(new OptionSection(group.Title, [.. group.Options]));
    }

    protected void Add(Argument<string> argument, string description)
    {
        ArgumentNullException.ThrowIfNull(argument);
        argument.Description = description;
        _arguments.Add(new CommandArgument(argument, description));
    }

    /// <summary>A usage error the parser cannot see (options that exclude each other, a value out of the model's range).</summary>
    protected static CliUsageException Usage(string message) => new(message);
}

/// <summary>A titled list of options in help.</summary>
public sealed record OptionSection(string Title, List<IFolioOption> Options);

/// <summary>A positional argument and what help says of it.</summary>
public sealed record CommandArgument(Argument<string> Argument, string Description);

/// <summary>Options that several commands share (Options/): defined once, added to each as a section.</summary>
public interface IOptionGroup
{
    /// <summary>The section title in help, e.g. "Engine options".</summary>
    string Title { get; }

    IReadOnlyList<IFolioOption> Options { get; }
}

/// <summary>Thrown for a command line a user must correct; the message says what to change. Exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);
