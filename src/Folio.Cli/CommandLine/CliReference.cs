using System.Globalization;
using System.Text;

namespace Folio.Cli.CommandLine;

/// <summary>
/// docs/cli.md: every command's synopsis and options as `--help` prints them, the exit codes, and
/// how progress is shown. Generated from the definitions; tests/Folio.Cli.Tests fails when the
/// file in the repository differs and says how to regenerate it.
/// </summary>
public static class CliReference
{
    public const string RegenerateHint = "FOLIO_UPDATE_DOCS=1 dotnet test tests/Folio.Cli.Tests --filter Cli_reference";

    public static string Markdown()
    {
        var md = new StringBuilder();
        md.Append("# The `folio` command line\n\n");
        md.Append(CultureInfo.InvariantCulture, $"<!-- Generated from the command definitions in src/Folio.Cli; a test checks it. Regenerate with: {RegenerateHint} -->\n\n");
        md.Append("`folio` runs a model in process, talks to workers through the queue, benchmarks Folio against its peers and checks the CUDA backend. ");
        md.Append("Build it with `dotnet build src/Folio.Cli -c Release` and run `dotnet src/Folio.Cli/bin/Release/net10.0/linux-x64/folio.dll` (or the `folio` next to it).\n\n");
        md.Append("- Options are written `--name VALUE` or `--name=VALUE`; a flag such as `--json` takes no value (`--json false` turns it off). ");
        md.Append("A word starting with `--` and a letter is always read as an option, never as a value.\n");
        md.Append("- `folio COMMAND --help` prints the text below for that command; `folio help COMMAND` is the same.\n");
        md.Append("- Results go to stdout, diagnostics and progress to stderr.\n");
        md.Append("- An unknown option, a missing or malformed value, an option given twice, or options that exclude each other is a usage error: ");
        md.Append("one line per problem that names the option, says what it accepts and what it got, then the usage line; exit code 2.\n\n");

        md.Append("## Exit codes\n\n| code | meaning |\n| ---: | --- |\n");
        foreach (var code in ExitCodes.Common)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {code.Code} | {code.Meaning} |\n");
        }

        foreach (var command in FolioCli.Commands.Where(c => c.OwnExitCodes.Count > 0))
        {
            foreach (var code in command.OwnExitCodes)
            {
                md.Append(CultureInfo.InvariantCulture, $"| {code.Code} | `folio {command.Name}`: {code.Meaning} |\n");
            }
        }

        md.Append("\n## Progress\n\n");
        md.Append("Long-running commands (`bench cpu`, `bench engine`, `bench queue`, `cuda bench`, `cuda check`, and `make-test-model` of large shapes) ");
        md.Append("show progress bars (Spectre.Console) when both stdout and stderr are a terminal. Otherwise, in a pipe, a file or CI, they print plain lines on stderr ");
        md.Append(CultureInfo.InvariantCulture, $"(a line when a task starts, at most one every {Progress.PlainProgress.ReportInterval.TotalSeconds:F0} s while it runs, one when it ends) and never an escape sequence; ");
        md.Append("stdout then carries exactly the results. ");
        md.Append(CultureInfo.InvariantCulture, $"Set `{Progress.ProgressStyles.OverrideVariable}=plain` to get the plain lines on a terminal too.\n\n");

        md.Append("## Commands\n\n");
        foreach (var command in FolioCli.Commands)
        {
            md.Append(CultureInfo.InvariantCulture, $"- [`folio {command.Name}`](#{Anchor(command.Name)}): {command.Summary}\n");
        }

        foreach (var command in FolioCli.Commands)
        {
            md.Append(CultureInfo.InvariantCulture, $"\n## folio {command.Name}\n\n```text\n");
            md.Append(HelpWriter.ForCommand(command));
            md.Append("```\n");
        }

        return md.ToString();
    }

    private static string Anchor(string name) => "folio-" + name.Replace(' ', '-');
}
