using System.Globalization;
using System.Text;

namespace Folio.Cli.CommandLine;

/// <summary>
/// Writes `--help` from the command definitions: the usage line, every option with its value,
/// default and old spellings, the command's notes and its exit codes. The layout is fixed (not the
/// terminal's width) so that docs/cli.md, which holds the same text, is the same on every machine.
/// </summary>
public static class HelpWriter
{
    /// <summary>Lines are wrapped to this width.</summary>
    public const int Width = 100;

    private const int MaxNameColumn = 32;

    public static string ForCommand(FolioCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var help = new StringBuilder();
        AppendWrapped(help, $"folio {command.Name}: {command.Summary}", indent: 0);
        help.Append('\n');
        AppendWrapped(help, $"Usage: folio {command.Name} {command.Synopsis}", indent: 0);

        var rows = new List<(string Title, List<(string Name, string Text)> Rows)>();
        if (command.Arguments.Count > 0)
        {
            rows.Add(("Arguments", [.. command.Arguments.Select(a => (a.Argument.Name, a.Description))]));
        }

        foreach (var section in command.Sections.Where(s => s.Options.Count > 0))
        {
            rows.Add((section.Title, [.. section.Options.Select(o => (Left(o), Describe(o)))]));
        }

        rows.Add((string.Empty, [("-h, --help", "show this help")]));
        int nameColumn = Math.Min(MaxNameColumn, rows.SelectMany(r => r.Rows).Max(r => r.Name.Length));
        foreach (var (title, list) in rows)
        {
            help.Append('\n');
            if (title.Length > 0)
            {
                help.Append(title).Append(":\n");
            }

            foreach (var (name, text) in list)
            {
                AppendRow(help, name, text, nameColumn);
            }
        }

        foreach (string note in command.Notes)
        {
            help.Append('\n');
            AppendWrapped(help, note, indent: 0);
        }

        AppendExitCodes(help, command.OwnExitCodes);
        return help.ToString();
    }

    /// <summary>Help for `folio` itself (<paramref name="prefix"/> empty) or for a group such as `folio bench`.</summary>
    public static string ForGroup(string prefix, string summary, IEnumerable<FolioCommand> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        var list = commands.ToList();
        string self = prefix.Length == 0 ? "folio" : "folio " + prefix;
        var help = new StringBuilder();
        AppendWrapped(help, $"{self}: {summary}", indent: 0);
        help.Append('\n');
        help.Append(CultureInfo.InvariantCulture, $"Usage: {self} COMMAND [options]\n");
        help.Append(CultureInfo.InvariantCulture, $"       {self} COMMAND --help     the options of COMMAND\n");
        if (prefix.Length == 0)
        {
            help.Append("       folio --version\n");
        }

        help.Append("\nCommands:\n");
        int nameColumn = Math.Min(MaxNameColumn, list.Max(c => c.Name.Length));
        foreach (var c in list)
        {
            AppendRow(help, c.Name, c.Summary, nameColumn);
        }

        help.Append('\n');
        AppendWrapped(help, "Options are written --name VALUE or --name=VALUE; a flag (--json) takes no value. Results go to stdout, diagnostics to stderr.", indent: 0);
        AppendExitCodes(help, []);
        return help.ToString();
    }

    private static string Left(IFolioOption o) => o.ValueName is null ? o.CommandLineOption.Name : $"{o.CommandLineOption.Name} {o.ValueName}";

    private static string Describe(IFolioOption o)
    {
        var text = new StringBuilder(o.Description);
        if (o.IsRequired)
        {
            text.Append(" (required)");
        }
        else if (o.DefaultText is { Length: > 0 } d)
        {
            text.Append(CultureInfo.InvariantCulture, $" (default: {d})");
        }

        if (o.CommandLineOption.Aliases.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $" (old spelling: {string.Join(", ", o.CommandLineOption.Aliases.Order(StringComparer.Ordinal))})");
        }

        return text.ToString();
    }

    private static void AppendExitCodes(StringBuilder help, IReadOnlyList<ExitCode> own)
    {
        help.Append("\nExit codes:\n");
        // A command's own meaning of a shared code (cuda check: 1 is also "a check failed") joins the common one.
        foreach (var code in ExitCodes.Common.Concat(own).GroupBy(c => c.Code).OrderBy(g => g.Key))
        {
            AppendRow(help, code.Key.ToString(CultureInfo.InvariantCulture), string.Join("; ", code.Select(c => c.Meaning)), nameColumn: 3);
        }
    }

    private static void AppendRow(StringBuilder help, string name, string text, int nameColumn)
    {
        const int indent = 2;
        int textColumn = indent + nameColumn + 2;
        help.Append(' ', indent).Append(name);
        if (name.Length > nameColumn)
        {
            help.Append('\n').Append(' ', textColumn);
        }
        else
        {
            help.Append(' ', nameColumn - name.Length + 2);
        }

        AppendWords(help, text, textColumn, textColumn);
    }

    private static void AppendWrapped(StringBuilder help, string text, int indent)
    {
        help.Append(' ', indent);
        AppendWords(help, text, indent, indent);
    }

    /// <summary>Appends words after a cursor at <paramref name="column"/>, wrapping to <see cref="Width"/>; ends the line.</summary>
    private static void AppendWords(StringBuilder help, string text, int column, int indent)
    {
        bool first = true;
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!first && column + 1 + word.Length > Width)
            {
                help.Append('\n').Append(' ', indent);
                column = indent;
                first = true;
            }

            if (!first)
            {
                help.Append(' ');
                column++;
            }

            help.Append(word);
            column += word.Length;
            first = false;
        }

        help.Append('\n');
    }
}
