using System.CommandLine;

namespace Folio.Cli.CommandLine;

/// <summary>What help and the usage checks need to know of an option, whatever its value type.</summary>
public interface IFolioOption
{
    /// <summary>The option as System.CommandLine parses it.</summary>
    Option CommandLineOption { get; }

    /// <summary>The placeholder help prints after the name (N, PATH, SIZE); null for a flag.</summary>
    string? ValueName { get; }

    /// <summary>One line for help.</summary>
    string Description { get; }

    /// <summary>The default as help prints it; null when there is none worth printing.</summary>
    string? DefaultText { get; }

    /// <summary>Must be given; checked after parsing, with a message that names the option and its value.</summary>
    bool IsRequired { get; }
}

/// <summary>
/// An option of a `folio` command: System.CommandLine's option (whose custom parser gives the error
/// messages) plus what help prints for it. Made by <see cref="CliOptions"/>, never directly, so that
/// every option of every command parses and reports alike.
/// </summary>
public sealed class FolioOption<T> : Option<T>, IFolioOption
{
    internal FolioOption(string name, string? valueName, string description, string[] oldSpellings)
        : base(name, oldSpellings)
    {
        ValueName = valueName;
        Description = description;
        HelpName = valueName;
        OldSpellings = oldSpellings;
    }

    public Option CommandLineOption => this;

    public string? ValueName { get; }

    string IFolioOption.Description => Description ?? string.Empty;

    public string? DefaultText { get; internal init; }

    public bool IsRequired { get; internal init; }

    /// <summary>Earlier spellings still accepted (help says so), e.g. --steps for --decode-steps.</summary>
    public IReadOnlyList<string> OldSpellings { get; }
}
