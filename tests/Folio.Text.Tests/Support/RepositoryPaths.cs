namespace Folio.Text.Tests.Support;

/// <summary>Where the repository, the shared fixtures beside it, and the npm oracles are.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string?> RootValue = new(FindRoot);

    /// <summary>The repository root (the folder holding Worker.sln), or null when the tests run outside a checkout.</summary>
    public static string? Root => RootValue.Value;

    /// <summary>../shared/fixtures beside the repository (material no one here wrote; see its README).</summary>
    public static string? Fixtures => Root is null ? null : Existing(Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures")));

    /// <summary>tests/node, where test.sh installs the npm oracles (npm ci).</summary>
    public static string? NodeFolder => Root is null ? null : Existing(Path.Combine(Root, "tests", "node"));

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>A path under the fixtures; fails with the README's reason when they are missing.</summary>
    public static string Fixture(params string[] parts) =>
        Path.Combine([Fixtures ?? throw new InvalidOperationException("../shared/fixtures not found"), .. parts]);

    private static string? Existing(string path) => Directory.Exists(path) ? path : null;

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Worker.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
