using System.Text.RegularExpressions;
using Folio.Cli.CommandLine;
using Folio.Cli.Tests.Support;

namespace Folio.Cli.Tests;

public sealed class DocsTests
{
    [Fact]
    public void Cli_reference_in_docs_matches_the_command_definitions()
    {
        string path = Path.Combine(CliHarness.RepositoryRoot, "docs", "cli.md");
        string expected = CliReference.Markdown();
        if (Environment.GetEnvironmentVariable("FOLIO_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path), $"docs/cli.md is missing; write it with: {CliReference.RegenerateHint}");
        string actual = File.ReadAllText(path);
        Assert.True(actual == expected, $"docs/cli.md differs from the command definitions; regenerate it with: {CliReference.RegenerateHint}\nfirst difference at line {FirstDifferentLine(actual, expected)}");
    }

    [Fact]
    public void Cli_reference_holds_every_command_help_and_every_exit_code()
    {
        string md = CliReference.Markdown();
        foreach (var command in FolioCli.Commands)
        {
            Assert.Contains("```text\n" + HelpWriter.ForCommand(command) + "```\n", md, StringComparison.Ordinal);
            foreach (var code in command.OwnExitCodes)
            {
                Assert.Contains($"| {code.Code} | `folio {command.Name}`: {code.Meaning} |", md, StringComparison.Ordinal);
            }
        }

        foreach (var code in ExitCodes.Common)
        {
            Assert.Contains($"| {code.Code} | {code.Meaning} |", md, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Every `folio ...` line of README.md, run.sh and docs/ (the scripts and docs users copy from)
    /// still parses: the command exists, every option it names exists, every value is accepted.
    /// </summary>
    [Fact]
    public void Every_folio_invocation_in_the_readme_scripts_and_docs_still_parses()
    {
        string root = CliHarness.RepositoryRoot;
        var files = new[] { "README.md", "run.sh", "test.sh" }.Select(f => Path.Combine(root, f))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md").Where(f => Path.GetFileName(f) != "cli.md"))
            .Where(File.Exists)
            .ToList();
        var checkedLines = new List<string>();

        // `folio` and one of its commands, up to a pipe, a comment, a backtick, a ; or && or the end of the
        // line. Commands the docs name before they are wired (bench structured) are not matched.
        var names = string.Join('|', FolioCli.Commands.Select(c => Regex.Escape(c.Name)).OrderByDescending(n => n.Length));
        var invocation = new Regex($@"(?<![\w/.-])folio (?:{names})(?![\w-])[^`|#;&\n]*");
        foreach (string file in files)
        {
            foreach (string line in LogicalLines(File.ReadLines(file)))
            {
                foreach (Match m in invocation.Matches(line.Replace("\"${folio[@]}\"", "folio", StringComparison.Ordinal)))
                {
                    string[] words = Words(m.Value);
                    if (words.Length < 2 || words.Skip(1).Any(w => w is "..." || w.Contains('<', StringComparison.Ordinal)))
                    {
                        continue;
                    }

                    var (parse, _, _) = CliHarness.Parse(words[1..]);
                    string where = $"{Path.GetFileName(file)}: {m.Value.Trim()}";
                    Assert.True(parse.Errors.Count == 0, $"{where}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
                    checkedLines.Add(where);
                }
            }
        }

        // The readme's own tour alone names generate, make-test-model, submit, tail and bench cpu.
        Assert.True(checkedLines.Count >= 10, "found only: " + string.Join("\n", checkedLines));
    }

    /// <summary>Splits a shell line into words the way the shell would for these simple lines (quotes, no expansion).</summary>
    /// <summary>Lines with shell continuations (a trailing backslash) joined, so a command written over several lines is checked whole.</summary>
    private static IEnumerable<string> LogicalLines(IEnumerable<string> lines)
    {
        var pending = new System.Text.StringBuilder();
        foreach (string line in lines)
        {
            if (line.EndsWith('\\'))
            {
                pending.Append(line.AsSpan(0, line.Length - 1)).Append(' ');
                continue;
            }

            pending.Append(line);
            yield return pending.ToString();
            pending.Clear();
        }

        if (pending.Length > 0)
        {
            yield return pending.ToString();
        }
    }

    private static string[] Words(string line)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        char quote = '\0';
        bool inWord = false;
        foreach (char ch in line)
        {
            if (quote != '\0')
            {
                if (ch == quote)
                {
                    quote = '\0';
                }
                else
                {
                    current.Append(ch);
                }
            }
            else if (ch is '"' or '\'')
            {
                quote = ch;
                inWord = true;
            }
            else if (char.IsWhiteSpace(ch))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else if (ch is not ('[' or ']'))
            {
                // Docs write optional parts as [--raw]: the option inside is what counts.
                current.Append(ch);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return [.. words];
    }

    private static int FirstDifferentLine(string a, string b)
    {
        string[] x = a.Split('\n'), y = b.Split('\n');
        for (int i = 0; i < Math.Min(x.Length, y.Length); i++)
        {
            if (x[i] != y[i])
            {
                return i + 1;
            }
        }

        return Math.Min(x.Length, y.Length) + 1;
    }

}
