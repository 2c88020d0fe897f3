using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Folio.Worker.Tests.Deployment;

/// <summary>compose/ and compose/k8s/ as the tests read them: the files, their YAML documents, and paths into them.</summary>
internal static class DeploymentFiles
{
    public static string Compose => Path.Combine(ServersFixture.RepoRoot, "compose");

    public static string K8s => Path.Combine(Compose, "k8s");

    public static string Dashboard => Path.Combine(Compose, "grafana", "folio-dashboard.json");

    /// <summary>Every YAML file under compose/ (compose profiles, Prometheus and Grafana provisioning, k8s manifests).</summary>
    public static IEnumerable<string> YamlFiles() =>
        Directory.EnumerateFiles(Compose, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    /// <summary>Every file under compose/ that may name configuration keys as environment variables.</summary>
    public static IEnumerable<string> TextFiles() =>
        Directory.EnumerateFiles(Compose, "*.*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    public static List<YamlDocument> Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(file);
        stream.Load(reader);
        return [.. stream.Documents];
    }

    /// <summary>The Kubernetes objects of compose/k8s, every document of every file.</summary>
    public static List<(string File, YamlMappingNode Root)> K8sObjects() =>
        [.. Directory.EnumerateFiles(K8s, "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(f => Load(f).Select(d => (Path.GetFileName(f), (YamlMappingNode)d.RootNode)))];

    public static YamlMappingNode Object(string kind, string name) =>
        K8sObjects().Single(o => Str(o.Root, "kind") == kind && Str(o.Root, "metadata", "name") == name).Root;

    /// <summary>The node at <paramref name="path"/> (mapping keys, or list indices as numbers); null when absent.</summary>
    public static YamlNode? At(YamlNode node, params string[] path)
    {
        YamlNode? current = node;
        foreach (string step in path)
        {
            current = current switch
            {
                YamlMappingNode m => m.Children.TryGetValue(new YamlScalarNode(step), out var child) ? child : null,
                YamlSequenceNode s when int.TryParse(step, CultureInfo.InvariantCulture, out int i) && i < s.Children.Count => s.Children[i],
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    public static string? Str(YamlNode node, params string[] path) => (At(node, path) as YamlScalarNode)?.Value;

    public static IEnumerable<YamlNode> Items(YamlNode node, params string[] path) => At(node, path) is YamlSequenceNode s ? s.Children : [];

    /// <summary>The env entry <paramref name="name"/> of a container: its literal value, or null when absent or from a secret.</summary>
    public static string? Env(YamlNode container, string name) =>
        Items(container, "env").Where(e => Str(e, "name") == name).Select(e => Str(e, "value")).SingleOrDefault();

    public static int Int(string? value, string what) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : throw new FormatException($"{what}: '{value}' is not an integer");
}
