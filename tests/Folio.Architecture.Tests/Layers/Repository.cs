namespace Folio.Architecture.Tests.Layers;

/// <summary>Where the checkout and the compiled Folio assemblies are.</summary>
public static class Repository
{
    /// <summary>The folder holding Worker.sln, found by walking up from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The compiled assembly of a src project, next to the tests (this project references them all).</summary>
    public static string AssemblyPath(SourceProject project) => Path.Combine(AppContext.BaseDirectory, project.AssemblyName + ".dll");

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Worker.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no Worker.sln above {AppContext.BaseDirectory}: run the tests from a checkout");
    }
}
