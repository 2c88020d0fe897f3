using System.Text.Json;
using Folio.Cli.CommandLine;
using Folio.Cli.Tests.Support;

namespace Folio.Cli.Tests;

/// <summary>`folio` as users run it: its exit codes at run time, and what reaches a pipe.</summary>
public sealed class ProcessTests
{
    private const char Escape = '\u001b';
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_benchmark_writing_into_pipes_prints_plain_progress_lines_and_its_table_unchanged()
    {
        string dir = Path.Combine(Path.GetTempPath(), "folio-cli-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            string gguf = Path.Combine(dir, "tiny.gguf");
            var made = await CliHarness.RunProcessAsync(["make-test-model", "--out", gguf, "--format", "gguf", "--dim", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--ffn", "64", "--vocab", "300"], Timeout);
            Assert.True(made.ExitCode == 0, made.Error);
            Assert.Matches(@"^wrote .*tiny\.gguf \(gguf, F32, [\d,]+ parameters, seed 1\) in \d+\.\d s\n$", made.Out);

            var run = await CliHarness.RunProcessAsync(["bench", "cpu", "--model", gguf, "--skip-llama", "--batches", "2", "--decode-steps", "2", "--prompt-tokens", "2", "--repeat", "1", "--threads", "1", "--prefill-tokens", "8"], Timeout);

            Assert.True(run.ExitCode == 0, run.Error);
            Assert.DoesNotContain(Escape, run.Out);
            Assert.DoesNotContain(Escape, run.Error);
            Assert.Contains("\n| weights | case | Folio tok/s | llama.cpp tok/s | Folio / llama.cpp |", run.Out, StringComparison.Ordinal);
            Assert.Matches(@"\n\| tiny \| decode, batch 2 \| \d+\.\d \| - \| - \|[^\n]*\n\| tiny \| prefill, 8-token prompt \| \d+\.\d \| - \| - \|[^\n]*\n$", run.Out);
            Assert.Contains("bench cpu: rounds: 0/3\n", run.Error, StringComparison.Ordinal);
            Assert.Matches(@"bench cpu: tiny (batch \d|prefill) round 1: done in \d+\.\d s\n", run.Error);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Help_into_a_pipe_has_no_escape_sequences()
    {
        var run = await CliHarness.RunProcessAsync(["generate", "--help"], Timeout);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal(HelpWriter.ForCommand(CliHarness.Command("generate")), run.Out);
        Assert.DoesNotContain(Escape, run.Out + run.Error);
    }

    [Fact]
    public async Task A_model_that_does_not_exist_is_a_runtime_failure_with_one_line_and_exit_code_1()
    {
        var run = await CliHarness.RunAsync("generate", "--model", "/no/such/model.gguf", "--prompt", "x");

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith("folio generate: ", run.Error, StringComparison.Ordinal);
        Assert.Contains("/no/such/model.gguf", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_is_a_runtime_failure_with_exit_code_1()
    {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var run = await CliHarness.RunAsync("tail", "some-request", "--rabbitmq", "amqp://guest:guest@127.0.0.1:1/", "--redis", "127.0.0.1:1,connectTimeout=2000", "--timeout", "5");

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.StartsWith("folio tail: cannot reach or use the server: ", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_on_the_demo_model_prints_one_json_line_per_token_and_a_summary()
    {
        var run = await CliHarness.RunAsync("generate", "--model", "demo", "--prompt-token-ids", "1,2,3", "--max-tokens", "3", "--temperature", "0", "--json", "--threads", "1", "--backend", "cpu");

        Assert.True(run.ExitCode == 0, run.Error);
        string[] lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        for (int i = 0; i < 3; i++)
        {
            using var token = JsonDocument.Parse(lines[i]);
            Assert.Equal(i, token.RootElement.GetProperty("index").GetInt32());
            Assert.True(token.RootElement.TryGetProperty("token_id", out _));
            Assert.True(token.RootElement.TryGetProperty("text", out _));
        }

        using var summary = JsonDocument.Parse(lines[3]);
        Assert.Equal("length", summary.RootElement.GetProperty("finish_reason").GetString());
        Assert.Equal(3, summary.RootElement.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(3, summary.RootElement.GetProperty("prompt_tokens").GetInt32());
    }

    /// <summary>
    /// Ctrl-C reaches a command as its cancellation token (System.CommandLine's SIGINT handler
    /// cancels it); here the token is cancelled when the first token line is written.
    /// </summary>
    [Fact]
    public async Task A_cancelled_command_stops_promptly_with_exit_code_130()
    {
        using var cts = new CancellationTokenSource();
        using var output = new CancelOnFirstLine(cts);
        using var error = new StringWriter();

        int code = await FolioCli.RunAsync(
            ["generate", "--model", "demo", "--prompt-token-ids", "1,2,3", "--max-tokens", "1500", "--ignore-eos", "--temperature", "0", "--json", "--threads", "1", "--backend", "cpu"],
            new CliContext(output, error, Folio.Cli.Progress.ProgressStyle.Plain),
            cancellationToken: cts.Token).WaitAsync(Timeout);

        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.Equal("folio generate: cancelled\n", error.ToString());
        Assert.True(output.Lines < 1400, $"it ran on to {output.Lines} lines");
    }

    private sealed class CancelOnFirstLine(CancellationTokenSource cts) : StringWriter
    {
        public int Lines { get; private set; }

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            Lines++;
            cts.Cancel();
        }
    }
}
