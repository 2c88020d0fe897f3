using System.CommandLine;
using System.Diagnostics;
using Folio.Cli.CommandLine;
using Folio.Cli.Progress;

namespace Folio.Cli.Tests.Support;

/// <summary>What one `folio` run printed and returned.</summary>
public sealed record CliRun(int ExitCode, string Out, string Error);

/// <summary>Runs `folio` in this process (parsing, help, usage errors) or as a child process (real pipes, signals).</summary>
public static class CliHarness
{
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await FolioCli.RunAsync(args, new CliContext(output, error, ProgressStyle.Plain));
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>Parses only: the parse and the definition of the command it selected (null for a group or the root).</summary>
    public static (ParseResult Parse, FolioCommand? Command, IReadOnlyList<string> MissingRequired) Parse(params string[] args)
    {
        var (parse, commands) = FolioCli.Parse(args, new CliContext(TextWriter.Null, TextWriter.Null, ProgressStyle.Plain));
        commands.TryGetValue(parse.CommandResult.Command, out var command);
        return (parse, command, UsageErrors.MissingRequired(parse, commands));
    }

    public static FolioCommand Command(string name) => FolioCli.Commands.Single(c => c.Name == name);

    /// <summary>The built folio.dll beside the tests (the project reference copies it with its runtime config).</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "folio.dll");

    /// <summary>Starts folio with its own pipes.</summary>
    public static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // The child must not inherit a forced style from a developer's shell.
        psi.Environment.Remove(ProgressStyles.OverrideVariable);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        return Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet " + Dll);
    }

    /// <summary>Runs folio as a child process with stdout and stderr redirected to pipes.</summary>
    public static async Task<CliRun> RunProcessAsync(IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(args, environment);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"folio {string.Join(' ', args)} did not finish in {timeout}; stderr so far: {await error}");
        }

        return new CliRun(process.ExitCode, await output, await error);
    }

    /// <summary>The repository root (the folder holding Worker.sln), for docs/ and README.md.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Worker.sln")))
                {
                    return d.FullName;
                }
            }

            throw new InvalidOperationException("no Worker.sln above " + AppContext.BaseDirectory);
        }
    }
}
