using Folio.Architecture.Tests.Graph;
using Folio.Architecture.Tests.Layers;
using Folio.Architecture.Tests.Metadata;

namespace Folio.Architecture.Tests;

/// <summary>
/// The graph of what the compiled code actually uses: every Folio assembly's type references, in
/// signatures, attributes and method bodies, read from metadata.
/// </summary>
public sealed class NamespaceGraphTests
{
    private static readonly Lazy<IReadOnlyList<(SourceProject Project, AssemblyReferences Code)>> Assemblies = new(ReadAssemblies);

    [Fact]
    public void Every_src_assembly_is_read_without_gaps()
    {
        var problems = Assemblies.Value.SelectMany(a => a.Code.Problems.Select(p => $"{a.Project.AssemblyName}: {p}")).ToList();

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Folio_namespaces_depend_on_each_other_one_way()
    {
        var graph = NamespaceGraph.Build(Assemblies.Value.Select(a => a.Code), NamespaceGraph.IsFolio);

        var cycles = graph.Cycles();

        Assert.True(
            cycles.Count == 0,
            $"{cycles.Count} namespace cycle(s); break each by moving the type one edge names, or turning the use around:{Environment.NewLine}"
            + string.Join(Environment.NewLine, cycles.Select(graph.Describe)));
    }

    [Fact]
    public void Code_uses_only_the_projects_its_layer_may_reach()
    {
        var projectOfAssembly = Assemblies.Value.ToDictionary(a => a.Project.AssemblyName, a => a.Project.Name, StringComparer.Ordinal);
        var violations = new SortedDictionary<string, (int Count, string Example)>(StringComparer.Ordinal);
        foreach (var (project, code) in Assemblies.Value)
        {
            var reachable = LayerMap.Allowed.ContainsKey(project.Name) ? LayerMap.Reachable(project.Name) : new HashSet<string>();
            foreach (var reference in code.References.OrderBy(r => r.ToString(), StringComparer.Ordinal))
            {
                if (projectOfAssembly.TryGetValue(reference.To.Assembly, out var target)
                    && target != project.Name
                    && !reachable.Contains(target))
                {
                    string edge = $"{project.Name} -> {target}";
                    violations[edge] = violations.TryGetValue(edge, out var seen) ? (seen.Count + 1, seen.Example) : (1, reference.ToString());
                }
            }
        }

        Assert.True(
            violations.Count == 0,
            string.Join(Environment.NewLine, violations.Select(v => $"{v.Key} ({v.Value.Count} references), e.g. {v.Value.Example}")));
    }

    [Fact]
    public void Nothing_below_the_hosts_knows_RabbitMQ_Redis_or_ASP_NET()
    {
        var violations = new List<string>();
        foreach (var (project, code) in Assemblies.Value.Where(a => !LayerMap.Hosts.Contains(a.Project.Name)))
        {
            violations.AddRange(code.ReferencedAssemblies
                .Where(ForbiddenDependencies.IsForbidden)
                .Select(assembly => $"{project.AssemblyName} references the assembly {assembly}"));
            violations.AddRange(code.References
                .Where(r => ForbiddenDependencies.IsForbidden(r.To.Assembly) || ForbiddenDependencies.IsForbidden(r.To.Namespace))
                .Select(r => r.ToString())
                .Order(StringComparer.Ordinal)
                .Take(10));
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    private static List<(SourceProject, AssemblyReferences)> ReadAssemblies()
    {
        var assemblies = new List<(SourceProject, AssemblyReferences)>();
        var missing = new List<string>();
        foreach (var project in SourceProject.All(Repository.Root))
        {
            string path = Repository.AssemblyPath(project);
            if (!File.Exists(path))
            {
                missing.Add($"{project.AssemblyName}.dll ({project.RelativePath})");
                continue;
            }

            assemblies.Add((project, AssemblyReferences.Read(path)));
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"not next to the tests: {string.Join(", ", missing)}; add a ProjectReference for each to tests/Folio.Architecture.Tests/Folio.Architecture.Tests.csproj");
        }

        return assemblies;
    }
}
