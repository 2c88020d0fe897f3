using Folio.Cli;

var commands = typeof(ICliCommand).Assembly.GetTypes()
    .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICliCommand).IsAssignableFrom(t))
    .Select(t => (ICliCommand)Activator.CreateInstance(t)!)
    .OrderBy(c => c.Name, StringComparer.Ordinal)
    .ToList();

void PrintHelp()
{
    Console.Error.WriteLine("usage: folio <command> [options]   (folio <command> --help for its options)");
    foreach (var c in commands)
    {
        Console.Error.WriteLine($"  {c.Name,-20} {c.Summary}");
    }
}

if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    PrintHelp();
    return args.Length == 0 ? 2 : 0;
}

// Longest match first, so "bench cpu" wins over a plain "bench".
var command = commands
    .OrderByDescending(c => c.Name.Split(' ').Length)
    .FirstOrDefault(c =>
    {
        var words = c.Name.Split(' ');
        return words.Length <= args.Length && words.Select((w, i) => w == args[i]).All(x => x);
    });
if (command is null)
{
    Console.Error.WriteLine($"folio: unknown command '{string.Join(' ', args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)))}'");
    PrintHelp();
    return 2;
}

var rest = args.Skip(command.Name.Split(' ').Length).ToList();
if (rest.Contains("--help"))
{
    Console.WriteLine(command.Usage);
    return 0;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
try
{
    return await command.RunAsync(new CliArgs(rest), cts.Token);
}
catch (CliUsageException e)
{
    Console.Error.WriteLine($"folio {command.Name}: {e.Message}");
    Console.Error.WriteLine(command.Usage);
    return 2;
}
catch (Folio.Models.ModelFormatException e)
{
    Console.Error.WriteLine($"folio {command.Name}: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    return 130;
}
