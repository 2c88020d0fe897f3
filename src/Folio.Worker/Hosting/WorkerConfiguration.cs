using Microsoft.Extensions.Configuration;

namespace Folio.Worker.Hosting;

/// <summary>
/// Where configuration comes from, lowest priority first: appsettings.json next to the binary, then
/// at the repository root (the nearest folder up from the working directory holding Worker.sln),
/// then environment variables (Folio__RabbitMq__Uri for Folio:RabbitMq:Uri), then the command line.
/// </summary>
internal static class WorkerConfiguration
{
    public static void Apply(ConfigurationManager configuration, string[] args)
    {
        configuration.Sources.Clear();
        string nextToBinary = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        configuration.AddJsonFile(nextToBinary, optional: true, reloadOnChange: false);
        if (FindRepositoryRoot(Directory.GetCurrentDirectory()) is { } root)
        {
            string atRoot = Path.Combine(root, "appsettings.json");
            if (!string.Equals(Path.GetFullPath(atRoot), Path.GetFullPath(nextToBinary), StringComparison.Ordinal))
            {
                configuration.AddJsonFile(atRoot, optional: true, reloadOnChange: false);
            }
        }

        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(args);
    }

    private static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
