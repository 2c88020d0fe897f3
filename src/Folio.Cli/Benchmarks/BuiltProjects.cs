namespace Folio.Cli.Benchmarks;

/// <summary>Where the benches that start hosts (bench queue, serve, soak) find a built Folio.Worker or Folio.Gateway.</summary>
internal static class BuiltProjects
{
    /// <summary>
    /// The path in <paramref name="variable"/> if set, else the newest build of src/<paramref name="project"/>
    /// found from the working directory upwards (Release before Debug, any build slot); null when there is none.
    /// </summary>
    public static string? Find(string project, string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } env)
        {
            return env;
        }

        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            string folder = Path.Combine(d.FullName, "src", project);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            var found = Directory.EnumerateFiles(folder, project + ".dll", SearchOption.AllDirectories)
                .Where(f => f.Contains("/bin", StringComparison.Ordinal) && !f.Contains("/obj", StringComparison.Ordinal) && File.Exists(Path.ChangeExtension(f, ".runtimeconfig.json")))
                .OrderByDescending(f => f.Contains("/Release/", StringComparison.Ordinal))
                .ThenByDescending(File.GetLastWriteTimeUtc)
                .FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }
}
