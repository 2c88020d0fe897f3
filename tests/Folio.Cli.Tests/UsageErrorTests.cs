using Folio.Cli.CommandLine;
using Folio.Cli.Tests.Support;

namespace Folio.Cli.Tests;

/// <summary>Every mistake on the command line: exit code 2, a message that names the option and what it accepts, nothing on stdout.</summary>
public sealed class UsageErrorTests
{
    [Theory]
    [MemberData(nameof(Samples.CommandNames), MemberType = typeof(Samples))]
    public async Task An_unknown_option_exits_2_naming_it_and_the_options_the_command_accepts(string name)
    {
        var command = CliHarness.Command(name);
        var run = await CliHarness.RunAsync([.. Samples.MinimalLine(command), "--no-such-option", "1"]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal(string.Empty, run.Out);
        Assert.Contains($"folio {name}: unknown option '--no-such-option'", run.Error, StringComparison.Ordinal);
        foreach (var option in command.AllOptions)
        {
            Assert.Contains(option.CommandLineOption.Name, run.Error, StringComparison.Ordinal);
        }

        Assert.Contains($"usage: folio {name} ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelled_option_gets_the_nearest_name_as_a_hint()
    {
        var run = await CliHarness.RunAsync("generate", "--model", "demo", "--prompt", "x", "--tmperature", "0");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("unknown option '--tmperature' (did you mean --temperature?)", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Samples.ValueOptions), MemberType = typeof(Samples))]
    public async Task An_option_last_on_the_line_without_its_value_exits_2_naming_it(string name, string option)
    {
        var command = CliHarness.Command(name);
        var run = await CliHarness.RunAsync([.. Samples.MinimalLine(command, except: option), option]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal(string.Empty, run.Out);
        Assert.Contains($"folio {name}: {option} needs a value: ", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Samples.ValueOptions), MemberType = typeof(Samples))]
    public async Task An_option_followed_by_another_option_instead_of_its_value_exits_2_naming_both(string name, string option)
    {
        var command = CliHarness.Command(name);
        var run = await CliHarness.RunAsync([.. Samples.MinimalLine(command, except: option), option, "--help-me"]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains($"{option} needs a value: ", run.Error, StringComparison.Ordinal);
        Assert.Contains("got the option '--help-me' instead", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Samples.NumericOptions), MemberType = typeof(Samples))]
    public async Task A_malformed_number_exits_2_naming_the_option_what_it_accepts_and_what_it_got(string name, string option)
    {
        var command = CliHarness.Command(name);
        var run = await CliHarness.RunAsync([.. Samples.MinimalLine(command, except: option), option, "12x"]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal(string.Empty, run.Out);
        Assert.Matches($"folio {name}: {option} must be (an integer|a number|a comma-separated list of integers|a memory size)[^\n]*; got '12x'", run.Error);
    }

    [Theory]
    [InlineData("--threads", "0", "--threads must be an integer >= 1; got '0'")]
    [InlineData("--block-size", "2048", "--block-size must be an integer from 1 to 1024; got '2048'")]
    [InlineData("--backend", "gpu", "--backend must be one of auto, cpu, cuda; got 'gpu'")]
    [InlineData("--kv-cache-memory", "lots", "--kv-cache-memory must be a memory size such as 512MiB, 2GiB or 64G; got 'lots'")]
    [InlineData("--prompt-token-ids", "1,two", "--prompt-token-ids must be a comma-separated list of integers such as 1,2,3; got '1,two'")]
    public async Task A_value_out_of_range_says_the_range(string option, string value, string message)
    {
        var run = await CliHarness.RunAsync("generate", "--model", "demo", option, value);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("folio generate: " + message + "\n", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sampling_value_the_contract_refuses_is_a_usage_error_naming_the_option()
    {
        var run = await CliHarness.RunAsync("generate", "--model", "/no/model/needed", "--prompt", "x", "--top-p", "1.5");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("folio generate: --top-p must be in (0, 1]; got 1.5", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_option_given_twice_exits_2()
    {
        var run = await CliHarness.RunAsync("make-test-model", "--out", "x", "--format", "hf", "--dim", "64", "--dim", "128");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("--dim was given 2 times ('64', '128'); give it once", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_required_option_exits_2_saying_what_to_give()
    {
        var run = await CliHarness.RunAsync("make-test-model", "--out", "x");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("folio make-test-model: --format is required: hf|gguf", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_that_exclude_each_other_exit_2_before_any_model_loads()
    {
        var run = await CliHarness.RunAsync("generate", "--model", "/no/such/model", "--prompt", "x", "--prompt-token-ids", "1,2");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("give exactly one of --prompt, --prompt-token-ids and --prompts-file", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tail", "unexpected argument 'b': folio tail takes REQUEST_ID only", "a", "b")]
    [InlineData("tail", "give REQUEST_ID: ")]
    [InlineData("bench", "unknown command 'bench gpu'; the commands are bench cpu, bench engine, bench machine, bench queue, bench serve, bench soak, bench structured", "gpu")]
    public async Task Positional_words_are_checked(string first, string message, params string[] rest)
    {
        var run = await CliHarness.RunAsync([first, .. rest]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_command_exits_2_listing_the_commands()
    {
        var run = await CliHarness.RunAsync("serve");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("folio: unknown command 'serve'; the commands are ", run.Error, StringComparison.Ordinal);
        foreach (var command in new[] { "bench cpu", "generate", "submit", "tail" })
        {
            Assert.Contains(command, run.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_request_id_the_contract_refuses_is_a_usage_error_before_any_connection()
    {
        var run = await CliHarness.RunAsync("tail", "no spaces allowed", "--redis", "127.0.0.1:1");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("REQUEST_ID must be", run.Error, StringComparison.Ordinal);
    }
}
