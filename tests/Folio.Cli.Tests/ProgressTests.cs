using Folio.Cli.CommandLine;
using Folio.Cli.Progress;

namespace Folio.Cli.Tests;

public sealed class ProgressTests
{
    private const char Escape = '\u001b';

    [Theory]
    [InlineData(true, false, "xterm-256color", null, ProgressStyle.Plain)]
    [InlineData(false, true, "xterm-256color", null, ProgressStyle.Plain)]
    [InlineData(true, true, "xterm-256color", null, ProgressStyle.Plain)]
    [InlineData(false, false, "dumb", null, ProgressStyle.Plain)]
    [InlineData(false, false, "xterm-256color", "plain", ProgressStyle.Plain)]
    [InlineData(false, false, "xterm-256color", null, ProgressStyle.Live)]
    [InlineData(false, false, null, null, ProgressStyle.Live)]
    public void Progress_is_live_only_when_both_outputs_are_a_terminal(bool outRedirected, bool errRedirected, string? term, string? forced, ProgressStyle expected) =>
        Assert.Equal(expected, ProgressStyles.Detect(outRedirected, errRedirected, term, forced));

    [Fact]
    public void Plain_progress_writes_results_unchanged_to_stdout_and_plain_progress_lines_to_stderr()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new CliContext(output, error, ProgressStyle.Plain);

        int result = context.WithProgress("bench x", progress =>
        {
            var task = progress.AddTask("rounds", 3);
            progress.WriteLine("| case | tok/s |");
            task.Advance(description: "round 1");
            progress.Note("a detail");
            task.Advance(2);
            task.Complete();
            return 42;
        });

        Assert.Equal(42, result);
        Assert.Equal("| case | tok/s |\n", output.ToString());
        string[] lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("bench x: rounds: 0/3", lines[0]);
        Assert.Equal("a detail", lines[1]);
        Assert.Matches(@"^bench x: round 1: done in \d+\.\d s$", lines[2]);
        Assert.DoesNotContain(Escape, output.ToString() + error.ToString());
    }

    [Fact]
    public void A_task_of_unknown_length_says_what_runs_when_it_starts()
    {
        using var error = new StringWriter();
        var context = new CliContext(TextWriter.Null, error, ProgressStyle.Plain);

        context.WithProgress("make-test-model", progress =>
        {
            progress.AddTask("writing 9 parameters", 0).Complete();
            return 0;
        });

        Assert.StartsWith("make-test-model: writing 9 parameters...\n", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Live_progress_draws_with_escape_sequences_which_is_why_it_is_kept_off_pipes()
    {
        using var terminal = new StringWriter();
        var context = new CliContext(terminal, TextWriter.Null, ProgressStyle.Live);

        await context.WithProgressAsync("bench x", async progress =>
        {
            var task = progress.AddTask("rounds", 2);
            progress.WriteLine("result line");
            await Task.Delay(50);
            task.Advance(2);
            task.Complete();
            return 0;
        });

        string drawn = terminal.ToString();
        Assert.Contains(Escape, drawn);
        Assert.Contains("result line", drawn, StringComparison.Ordinal);
        Assert.Contains("rounds", drawn, StringComparison.Ordinal);
    }
}
