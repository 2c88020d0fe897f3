using Folio.Architecture.Tests.Metadata;

namespace Folio.Architecture.Tests.Graph;

/// <summary>Builds the graph of namespaces from the type references of some assemblies.</summary>
public static class NamespaceGraph
{
    /// <summary>
    /// One node per namespace that <paramref name="includes"/> accepts, one edge per pair of such
    /// namespaces where a type of the first uses a type of the second. References are visited in
    /// a fixed order, so the example reported for an edge is the same on every run.
    /// </summary>
    public static DependencyGraph Build(IEnumerable<AssemblyReferences> assemblies, Func<string, bool> includes)
    {
        var graph = new DependencyGraph();
        foreach (var assembly in assemblies)
        {
            var ordered = assembly.References
                .OrderBy(r => r.From.FullName, StringComparer.Ordinal)
                .ThenBy(r => r.Member, StringComparer.Ordinal)
                .ThenBy(r => r.To.FullName, StringComparer.Ordinal);
            foreach (var reference in ordered)
            {
                if (!includes(reference.From.Namespace))
                {
                    continue;
                }

                graph.AddNode(reference.From.Namespace);
                if (includes(reference.To.Namespace))
                {
                    graph.AddEdge(reference.From.Namespace, reference.To.Namespace, reference.ToString());
                }
            }
        }

        return graph;
    }

    /// <summary>Folio's own namespaces: Folio and everything under it.</summary>
    public static bool IsFolio(string @namespace) =>
        @namespace.Equals("Folio", StringComparison.Ordinal) || @namespace.StartsWith("Folio.", StringComparison.Ordinal);
}
