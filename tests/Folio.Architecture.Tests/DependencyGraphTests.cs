using Folio.Architecture.Tests.Graph;

namespace Folio.Architecture.Tests;

public sealed class DependencyGraphTests
{
    [Fact]
    public void A_graph_without_back_edges_has_no_cycle()
    {
        var graph = new DependencyGraph();
        graph.AddEdge("app", "engine", "app uses engine");
        graph.AddEdge("engine", "text", "engine uses text");
        graph.AddEdge("app", "text", "app uses text");

        Assert.Empty(graph.Cycles());
    }

    [Fact]
    public void Every_cycle_is_found_once_starting_at_its_smallest_name()
    {
        var graph = new DependencyGraph();
        graph.AddEdge("b", "c", "b.M -> c.T");
        graph.AddEdge("c", "a", "c.M -> a.T");
        graph.AddEdge("a", "b", "a.M -> b.T");
        graph.AddEdge("c", "d", "c.M -> d.T");
        graph.AddEdge("d", "e", "d.M -> e.T");
        graph.AddEdge("e", "d", "e.M -> d.T");

        var cycles = graph.Cycles();

        Assert.Equal(2, cycles.Count);
        Assert.Equal(["a", "b", "c", "a"], cycles[0]);
        Assert.Equal(["d", "e", "d"], cycles[1]);
    }

    [Fact]
    public void Two_cycles_through_one_node_are_both_reported()
    {
        // a <-> b and a <-> c share a: one strongly connected component, two back-edges.
        var graph = new DependencyGraph();
        graph.AddEdge("a", "b", "a.M -> b.T");
        graph.AddEdge("b", "a", "b.M -> a.T");
        graph.AddEdge("a", "c", "a.N -> c.T");
        graph.AddEdge("c", "a", "c.M -> a.T");

        var cycles = graph.Cycles();

        Assert.Equal(2, cycles.Count);
        Assert.Contains(cycles, c => c.SequenceEqual(["a", "b", "a"]));
        Assert.Contains(cycles, c => c.SequenceEqual(["a", "c", "a"]));
    }

    [Fact]
    public void An_edge_keeps_its_first_example_and_counts_the_rest()
    {
        var graph = new DependencyGraph();
        graph.AddEdge("a", "b", "first");
        graph.AddEdge("a", "b", "second");
        graph.AddEdge("b", "a", "back");

        Assert.Equal(new EdgeEvidence(2, "first"), graph.Evidence("a", "b"));
        string description = graph.Describe(graph.Cycles()[0]);
        Assert.Contains("a -> b (2 references), e.g. first", description, StringComparison.Ordinal);
        Assert.Contains("b -> a (1 reference), e.g. back", description, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_never_depends_on_itself()
    {
        var graph = new DependencyGraph();
        graph.AddEdge("a", "a", "a.M -> a.T");

        Assert.Empty(graph.Successors("a"));
        Assert.Empty(graph.Cycles());
    }
}
