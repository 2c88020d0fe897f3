using Microsoft.Extensions.Configuration;

namespace Folio.Worker.Hosting;

/// <summary>
/// Where configuration comes from, lowest priority first: appsettings.json next to the binary, then
/// appsettings.json in the working directory, then an explicit file (<c>--config PATH</c> or the
/// environment variable FOLIO_CONFIG), then environment variables (Folio__RabbitMq__Uri for
/// Folio:RabbitMq:Uri), then the command line. Nothing is searched for in parent folders: a worker
/// started from inside a checkout does not pick up that checkout's developer settings.
/// </summary>
internal static class WorkerConfiguration
{
    public const string ConfigFileVariable = "FOLIO_CONFIG";

    public static void Apply(ConfigurationManager configuration, string[] args, string baseDirectory, string workingDirectory)
    {
        configuration.Sources.Clear();
        string nextToBinary = Path.GetFullPath(Path.Combine(baseDirectory, "appsettings.json"));
        configuration.AddJsonFile(nextToBinary, optional: true, reloadOnChange: false);
        string inWorkingDirectory = Path.GetFullPath(Path.Combine(workingDirectory, "appsettings.json"));
        if (!string.Equals(inWorkingDirectory, nextToBinary, StringComparison.Ordinal))
        {
            configuration.AddJsonFile(inWorkingDirectory, optional: true, reloadOnChange: false);
        }

        if (ExplicitFile(args) is { } file)
        {
            string full = Path.GetFullPath(file, workingDirectory);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"the configuration file '{file}' (--config or {ConfigFileVariable}) does not exist", full);
            }

            configuration.AddJsonFile(full, optional: false, reloadOnChange: false);
        }

        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(WithoutConfigOption(args));
    }

    private static string? ExplicitFile(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }
        }

        return Environment.GetEnvironmentVariable(ConfigFileVariable) is { Length: > 0 } env ? env : null;
    }

    private static string[] WithoutConfigOption(string[] args)
    {
        var rest = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config")
            {
                i++;
                continue;
            }

            if (!args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                rest.Add(args[i]);
            }
        }

        return [.. rest];
    }
}
