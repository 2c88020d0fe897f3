namespace Folio.Gateway;

/// <summary>
/// Where configuration comes from, lowest priority first (as the worker reads it, so that one
/// appsettings.json serves both): appsettings.json next to the binary, then in the working
/// directory, then the file named by --config or FOLIO_CONFIG, then environment variables
/// (Folio__Gateway__Urls for Folio:Gateway:Urls), then the command line.
/// </summary>
internal static class GatewayConfiguration
{
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

        var rest = new List<string>();
        string? file = Environment.GetEnvironmentVariable("FOLIO_CONFIG") is { Length: > 0 } env ? env : null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                file = args[++i];
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                file = args[i]["--config=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        if (file is not null)
        {
            string full = Path.GetFullPath(file, workingDirectory);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"the configuration file '{file}' (--config or FOLIO_CONFIG) does not exist", full);
            }

            configuration.AddJsonFile(full, optional: false, reloadOnChange: false);
        }

        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine([.. rest]);
    }
}
