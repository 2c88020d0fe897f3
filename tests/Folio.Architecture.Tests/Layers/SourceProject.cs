using System.Xml.Linq;

namespace Folio.Architecture.Tests.Layers;

/// <summary>What a src project file declares: its name, assembly, SDK and references.</summary>
public sealed record SourceProject(
    string Name,
    string RelativePath,
    string AssemblyName,
    string Sdk,
    IReadOnlyList<string> ProjectReferences,
    IReadOnlyList<string> PackageReferences,
    IReadOnlyList<string> FrameworkReferences)
{
    /// <summary>Every src/*/*.csproj of the repository, in name order.</summary>
    public static IReadOnlyList<SourceProject> All(string repositoryRoot) =>
        [.. Directory.GetDirectories(Path.Combine(repositoryRoot, "src"))
            .SelectMany(folder => Directory.GetFiles(folder, "*.csproj"))
            .Select(path => Read(repositoryRoot, path))
            .OrderBy(project => project.Name, StringComparer.Ordinal)];

    public static SourceProject Read(string repositoryRoot, string path)
    {
        var document = XDocument.Load(path);
        var root = document.Root ?? throw new InvalidDataException($"{path} has no root element");
        string name = Path.GetFileNameWithoutExtension(path);
        string assemblyName = root.Descendants("AssemblyName").Select(e => e.Value.Trim()).LastOrDefault() ?? name;
        return new SourceProject(
            name,
            Path.GetRelativePath(repositoryRoot, path),
            assemblyName,
            (string?)root.Attribute("Sdk") ?? "",
            Includes(root, "ProjectReference").Select(Path.GetFileNameWithoutExtension).OfType<string>().ToList(),
            Includes(root, "PackageReference").ToList(),
            Includes(root, "FrameworkReference").ToList());
    }

    private static IEnumerable<string> Includes(XElement root, string item) =>
        root.Descendants(item)
            .Select(e => (string?)e.Attribute("Include"))
            .OfType<string>()
            .Select(include => include.Replace('\\', '/'));
}
