namespace Folio.Architecture.Tests.Graph;

/// <summary>
/// A directed graph of names (namespaces, assemblies) whose edges remember how many references
/// made them and the first one seen, so a cycle can be reported with the line to change.
/// </summary>
public sealed class DependencyGraph
{
    private readonly SortedDictionary<string, SortedDictionary<string, EdgeEvidence>> _edges = new(StringComparer.Ordinal);

    public IEnumerable<string> Nodes => _edges.Keys;

    public void AddNode(string node)
    {
        _edges.TryAdd(node, new SortedDictionary<string, EdgeEvidence>(StringComparer.Ordinal));
    }

    /// <summary>Adds one reference from <paramref name="from"/> to <paramref name="to"/>; a node never depends on itself.</summary>
    public void AddEdge(string from, string to, string example)
    {
        AddNode(from);
        AddNode(to);
        if (from == to)
        {
            return;
        }

        var targets = _edges[from];
        targets[to] = targets.TryGetValue(to, out var evidence)
            ? evidence with { Count = evidence.Count + 1 }
            : new EdgeEvidence(1, example);
    }

    public IEnumerable<string> Successors(string node) =>
        _edges.TryGetValue(node, out var targets) ? targets.Keys : [];

    public EdgeEvidence Evidence(string from, string to) => _edges[from][to];

    /// <summary>
    /// The cycles worth reporting: for every node that sits on a cycle, the shortest cycle through
    /// it, each cycle once (rotated to start at its smallest name), in name order. Every
    /// back-edge shows up in at least one of them.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var cycles = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var component in StronglyConnectedComponents().Where(c => c.Count > 1))
        {
            foreach (var node in component)
            {
                var cycle = ShortestCycleThrough(node, component);
                var rotated = RotateToSmallest(cycle);
                cycles.TryAdd(string.Join(" -> ", rotated), rotated);
            }
        }

        return [.. cycles.Values];
    }

    /// <summary>Tarjan's algorithm: groups of nodes that can all reach each other.</summary>
    public IReadOnlyList<IReadOnlySet<string>> StronglyConnectedComponents()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var lowLink = new Dictionary<string, int>(StringComparer.Ordinal);
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var components = new List<IReadOnlySet<string>>();
        int next = 0;

        void Visit(string node)
        {
            index[node] = lowLink[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var successor in Successors(node))
            {
                if (index.TryGetValue(successor, out int successorIndex))
                {
                    if (onStack.Contains(successor))
                    {
                        lowLink[node] = Math.Min(lowLink[node], successorIndex);
                    }
                }
                else
                {
                    Visit(successor);
                    lowLink[node] = Math.Min(lowLink[node], lowLink[successor]);
                }
            }

            if (lowLink[node] == index[node])
            {
                var component = new SortedSet<string>(StringComparer.Ordinal);
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                components.Add(component);
            }
        }

        foreach (var node in Nodes)
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return components;
    }

    /// <summary>Every node reachable from <paramref name="start"/>, itself excluded.</summary>
    public IReadOnlySet<string> ReachableFrom(string start)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(Successors(start));
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (seen.Add(node))
            {
                foreach (var successor in Successors(node))
                {
                    pending.Push(successor);
                }
            }
        }

        seen.Remove(start);
        return seen;
    }

    /// <summary>A cycle written as its nodes with the first repeated at the end, each edge with its evidence.</summary>
    public string Describe(IReadOnlyList<string> cycle)
    {
        var lines = new List<string> { "  " + string.Join(" -> ", cycle) };
        for (int i = 0; i + 1 < cycle.Count; i++)
        {
            var evidence = Evidence(cycle[i], cycle[i + 1]);
            string count = evidence.Count == 1 ? "1 reference" : $"{evidence.Count} references";
            lines.Add($"    {cycle[i]} -> {cycle[i + 1]} ({count}), e.g. {evidence.Example}");
        }

        return string.Join(Environment.NewLine, lines);
    }

    private List<string> ShortestCycleThrough(string start, IReadOnlySet<string> component)
    {
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        foreach (var successor in Successors(start).Where(component.Contains))
        {
            if (parent.TryAdd(successor, start))
            {
                queue.Enqueue(successor);
            }
        }

        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            if (node == start)
            {
                break;
            }

            foreach (var successor in Successors(node).Where(component.Contains))
            {
                if (parent.TryAdd(successor, node))
                {
                    queue.Enqueue(successor);
                }
            }
        }

        // Walk back from start's own entry (the last edge of the cycle) to start.
        var path = new List<string> { start };
        for (var node = parent[start]; node != start; node = parent[node])
        {
            path.Add(node);
        }

        path.Add(start);
        path.Reverse();
        return path;
    }

    private static List<string> RotateToSmallest(List<string> cycle)
    {
        var open = cycle.Take(cycle.Count - 1).ToList();
        int smallest = 0;
        for (int i = 1; i < open.Count; i++)
        {
            if (string.CompareOrdinal(open[i], open[smallest]) < 0)
            {
                smallest = i;
            }
        }

        var rotated = open.Skip(smallest).Concat(open.Take(smallest)).ToList();
        rotated.Add(rotated[0]);
        return rotated;
    }
}

/// <summary>How many references make an edge, and the first one seen.</summary>
public readonly record struct EdgeEvidence(int Count, string Example);
