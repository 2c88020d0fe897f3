using Folio.Cli.CommandLine;

namespace Folio.Cli.Tests.Support;

/// <summary>Valid command lines built from the definitions, so that a test can break exactly one thing in them.</summary>
public static class Samples
{
    /// <summary>A value the option accepts.</summary>
    public static string ValueFor(IFolioOption option)
    {
        var type = Nullable.GetUnderlyingType(option.CommandLineOption.ValueType) ?? option.CommandLineOption.ValueType;
        return type switch
        {
            _ when option.ValueName == "SIZE" => "1GiB",
            _ when type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(int[]) => "1",
            _ when option.ValueName is { } v && v.Contains('|', StringComparison.Ordinal) && !v.Any(char.IsUpper) => v.Split('|')[0],
            _ when option.CommandLineOption.Name == "--rabbitmq" => "amqp://guest:guest@127.0.0.1:5672/",
            _ => "x",
        };
    }

    /// <summary>The command's words, its positional arguments and its required options with valid values.</summary>
    public static List<string> MinimalLine(FolioCommand command, string? except = null)
    {
        var line = command.Name.Split(' ').ToList();
        line.AddRange(command.Arguments.Select(_ => "req-1"));
        foreach (var option in command.AllOptions.Where(o => o.IsRequired && o.CommandLineOption.Name != except))
        {
            line.Add(option.CommandLineOption.Name);
            line.Add(ValueFor(option));
        }

        return line;
    }

    public static TheoryData<string> CommandNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in FolioCli.Commands)
        {
            data.Add(c.Name);
        }

        return data;
    }

    /// <summary>Every (command, option) pair whose option takes a value.</summary>
    public static TheoryData<string, string> ValueOptions()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in FolioCli.Commands)
        {
            foreach (var o in c.AllOptions.Where(o => o.ValueName is not null))
            {
                data.Add(c.Name, o.CommandLineOption.Name);
            }
        }

        return data;
    }

    /// <summary>Every (command, option) pair whose option takes a number or a list of numbers.</summary>
    public static TheoryData<string, string> NumericOptions()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in FolioCli.Commands)
        {
            foreach (var o in c.AllOptions.Where(o => ValueFor(o) is "1" or "1GiB"))
            {
                data.Add(c.Name, o.CommandLineOption.Name);
            }
        }

        return data;
    }

    public static IFolioOption Option(FolioCommand command, string name) => command.AllOptions.Single(o => o.CommandLineOption.Name == name);
}
