using Folio.Cli.CommandLine;
using Folio.Cli.Tests.Support;

namespace Folio.Cli.Tests;

public sealed class HelpTests
{
    [Theory]
    [MemberData(nameof(Samples.CommandNames), MemberType = typeof(Samples))]
    public async Task Help_of_every_command_lists_each_of_its_options_with_its_value(string name)
    {
        var command = CliHarness.Command(name);
        var run = await CliHarness.RunAsync([.. name.Split(' '), "--help"]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(string.Empty, run.Error);
        Assert.Contains($"Usage: folio {name} ", run.Out, StringComparison.Ordinal);
        Assert.Equal($"Usage: folio {name} {command.Synopsis}", string.Join(' ', run.Out.Split("\n\n")[1].Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)));
        Assert.NotEmpty(command.AllOptions);
        foreach (var option in command.AllOptions)
        {
            string left = option.ValueName is null ? option.CommandLineOption.Name : $"{option.CommandLineOption.Name} {option.ValueName}";
            Assert.Matches("\n  " + System.Text.RegularExpressions.Regex.Escape(left) + "[ \n]", run.Out);
            foreach (string alias in option.CommandLineOption.Aliases)
            {
                Assert.Contains(alias, run.Out, StringComparison.Ordinal);
            }
        }

        Assert.Contains("Exit codes:", run.Out, StringComparison.Ordinal);
        Assert.Contains("  2    usage error", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public async Task Help_is_the_same_text_whichever_way_it_is_asked_for(string flag)
    {
        var asOption = await CliHarness.RunAsync("bench", "cpu", flag);
        var asWord = await CliHarness.RunAsync("help", "bench", "cpu");

        Assert.Equal(ExitCodes.Success, asOption.ExitCode);
        Assert.Equal(ExitCodes.Success, asWord.ExitCode);
        Assert.Equal(HelpWriter.ForCommand(CliHarness.Command("bench cpu")), asOption.Out);
        Assert.Equal(asOption.Out, asWord.Out);
    }

    [Fact]
    public async Task Help_of_folio_lists_every_command_with_its_summary()
    {
        var run = await CliHarness.RunAsync("--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        foreach (var command in FolioCli.Commands)
        {
            Assert.Contains($"  {command.Name} ", run.Out, StringComparison.Ordinal);
            Assert.Contains(command.Summary.Split(' ')[0], run.Out, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Folio_without_a_command_prints_the_commands_on_stderr_and_exits_2()
    {
        var run = await CliHarness.RunAsync();

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal(string.Empty, run.Out);
        Assert.Contains("  generate ", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bench", "bench engine")]
    [InlineData("cuda", "cuda compile")]
    public async Task A_group_without_its_command_lists_its_commands_and_exits_2(string group, string member)
    {
        var run = await CliHarness.RunAsync(group);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains($"  {member} ", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("  generate ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_of_a_group_lists_only_its_commands()
    {
        var run = await CliHarness.RunAsync("cuda", "--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("  cuda check ", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("  bench cpu ", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_lines_fit_the_documented_width()
    {
        foreach (var command in FolioCli.Commands)
        {
            foreach (string line in HelpWriter.ForCommand(command).Split('\n'))
            {
                Assert.True(line.Length <= HelpWriter.Width, $"folio {command.Name} --help: a line of {line.Length} characters: {line}");
            }
        }
    }

    [Fact]
    public void Every_command_name_is_unique_and_every_option_name_is_unique_within_its_command()
    {
        Assert.Equal(FolioCli.Commands.Count, FolioCli.Commands.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var command in FolioCli.Commands)
        {
            var names = command.AllOptions.SelectMany(o => o.CommandLineOption.Aliases.Prepend(o.CommandLineOption.Name)).ToList();
            Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        }
    }
}
