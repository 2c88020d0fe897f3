using Folio.Architecture.Tests.Graph;
using Folio.Architecture.Tests.Layers;

namespace Folio.Architecture.Tests;

/// <summary>The project graph, as the src/*/*.csproj files declare it, against the layer map.</summary>
public sealed class ProjectGraphTests
{
    private const string LayerMapFile = "tests/Folio.Architecture.Tests/Layers/LayerMap.cs";

    private static readonly IReadOnlyList<SourceProject> Projects = SourceProject.All(Repository.Root);

    [Fact]
    public void Every_src_project_is_in_the_layer_map()
    {
        var unlisted = Projects.Where(p => !LayerMap.Allowed.ContainsKey(p.Name)).Select(p => p.RelativePath).ToList();

        Assert.True(
            unlisted.Count == 0,
            $"not in the layer map: {string.Join(", ", unlisted)}. Add each to LayerMap.Allowed in {LayerMapFile} with the Folio projects it may reference.");
    }

    [Fact]
    public void Projects_reference_only_the_layers_the_map_allows()
    {
        var violations = new List<string>();
        foreach (var project in Projects.Where(p => LayerMap.Allowed.ContainsKey(p.Name)))
        {
            var allowed = LayerMap.Allowed[project.Name];
            foreach (var reference in project.ProjectReferences.Where(r => !allowed.Contains(r)))
            {
                violations.Add($"{project.RelativePath} references {reference}; it may reference only [{string.Join(", ", allowed)}]");
            }
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void The_layer_map_is_one_way()
    {
        var graph = new DependencyGraph();
        foreach (var (project, allowed) in LayerMap.Allowed)
        {
            graph.AddNode(project);
            foreach (var lower in allowed)
            {
                graph.AddEdge(project, lower, $"{LayerMapFile}: {project} may reference {lower}");
            }
        }

        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, string.Join(Environment.NewLine, cycles.Select(graph.Describe)));
    }

    [Fact]
    public void No_src_project_references_a_host()
    {
        string[] hosts = [LayerMap.Worker, LayerMap.Gateway, LayerMap.Cli];
        var violations = Projects
            .SelectMany(p => p.ProjectReferences.Where(hosts.Contains).Select(r => $"{p.RelativePath} references {r}"))
            .ToList();

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations) + ": only tests may reference a host.");
    }

    [Fact]
    public void Projects_below_the_hosts_use_no_queue_stream_store_or_http_package()
    {
        var violations = new List<string>();
        foreach (var project in Projects.Where(p => !LayerMap.Hosts.Contains(p.Name)))
        {
            violations.AddRange(project.PackageReferences.Concat(project.FrameworkReferences)
                .Where(ForbiddenDependencies.IsForbidden)
                .Select(package => $"{project.RelativePath} references {package}"));
            if (project.Sdk.Contains("Web", StringComparison.Ordinal))
            {
                violations.Add($"{project.RelativePath} uses {project.Sdk}, which brings ASP.NET Core");
            }
        }

        Assert.True(
            violations.Count == 0,
            string.Join(Environment.NewLine, violations) + ": only the hosts (" + string.Join(", ", LayerMap.Hosts) + ") know RabbitMQ, Redis or HTTP.");
    }

    [Fact]
    public void These_tests_see_the_assembly_of_every_src_project()
    {
        var here = SourceProject.Read(Repository.Root, Path.Combine(Repository.Root, "tests/Folio.Architecture.Tests/Folio.Architecture.Tests.csproj"));
        var missing = Projects.Where(p => !here.ProjectReferences.Contains(p.Name)).Select(p => p.RelativePath).ToList();

        Assert.True(
            missing.Count == 0,
            $"add a ProjectReference to tests/Folio.Architecture.Tests/Folio.Architecture.Tests.csproj for: {string.Join(", ", missing)} (the namespace graph reads their assemblies from the test output)");
    }
}
