using Folio.Cli.CommandLine;
using Folio.Cli.Tests.Support;

namespace Folio.Cli.Tests;

/// <summary>What a command line means once parsed: values, defaults, old spellings.</summary>
public sealed class ParsingTests
{
    [Fact]
    public void Old_spellings_still_set_the_renamed_options()
    {
        var (bench, benchCommand, _) = CliHarness.Parse("cuda", "bench", "--steps", "7", "--prompt", "9");
        Assert.Empty(bench.Errors);
        Assert.Equal(7, bench.GetValue<int>("--decode-steps"));
        Assert.Equal(9, bench.GetValue<int>("--prompt-tokens"));
        Assert.NotNull(benchCommand);

        var (cpu, _, _) = CliHarness.Parse("bench", "cpu", "--model", "m.gguf", "--rounds", "5");
        Assert.Empty(cpu.Errors);
        Assert.Equal(5, cpu.GetValue<int>("--repeat"));
    }

    [Fact]
    public void A_prompt_that_starts_with_at_is_a_prompt_not_a_response_file()
    {
        var (parse, _, _) = CliHarness.Parse("submit", "--prompt", "@everyone hello");

        Assert.Empty(parse.Errors);
        Assert.Equal("@everyone hello", parse.GetValue<string?>("--prompt"));
    }

    [Fact]
    public void Values_may_follow_an_equals_sign_and_negative_numbers_are_values()
    {
        var (parse, _, _) = CliHarness.Parse("submit", "--prompt=hi", "--presence-penalty", "-1.5", "--seed=-3");

        Assert.Empty(parse.Errors);
        Assert.Equal("hi", parse.GetValue<string?>("--prompt"));
        Assert.Equal(-1.5, parse.GetValue<double>("--presence-penalty"));
        Assert.Equal(-3L, parse.GetValue<long?>("--seed"));
    }

    [Fact]
    public void A_list_option_not_given_is_null_or_its_default()
    {
        var (generate, generateCommand, _) = CliHarness.Parse("generate", "--model", "m", "--prompt", "x");
        var (bench, _, _) = CliHarness.Parse("bench", "cpu", "--model", "m.gguf");

        Assert.Empty(generate.Errors);
        var ids = (FolioOption<int[]?>)Samples.Option(generateCommand!, "--prompt-token-ids");
        Assert.Null(generate.GetIntList(ids));
        Assert.Equal([8, 32, 64], bench.GetValue<int[]>("--batches")!);
    }

    [Fact]
    public void Defaults_are_the_ones_help_prints()
    {
        foreach (var command in FolioCli.Commands)
        {
            var (parse, _, _) = CliHarness.Parse([.. Samples.MinimalLine(command)]);
            Assert.Empty(parse.Errors);
            foreach (var option in command.AllOptions.Where(o => o.CommandLineOption.HasDefaultValue && o.DefaultText is { } d && !d.Contains(' ', StringComparison.Ordinal) && !d.StartsWith('$') && o.ValueName != "SIZE"))
            {
                object? value = parse.GetValue<object>(option.CommandLineOption.Name);
                string text = value switch
                {
                    int[] list => string.Join(',', list),
                    IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                    _ => value?.ToString() ?? "null",
                };
                Assert.True(text == option.DefaultText, $"folio {command.Name} {option.CommandLineOption.Name}: help says {option.DefaultText}, the parse gives {text}");
            }
        }
    }
}
