namespace Folio.Engine.Constraints;

/// <summary>
/// Runs a <see cref="ByteAutomaton"/> as a pushdown automaton over sets of interned stacks. A set
/// holds only "tops": nodes whose position has byte transitions. <see cref="Close"/> expands a node
/// eagerly: it enters called rules (pushing the return position), leaves completed rules (popping to
/// the parent), and keeps the nodes that can read a byte. Every visit is stamped, so each node is
/// expanded once per step and a set never holds duplicates. Not thread-safe.
/// </summary>
internal sealed class StackRunner
{
    private readonly ByteAutomaton _automaton;
    private int[] _stamp = new int[256];
    private int _generation;
    private readonly IntList _work = new(64);

    public StackRunner(ByteAutomaton automaton, StackTable table)
    {
        _automaton = automaton;
        Table = table;
    }

    public StackTable Table { get; }

    /// <summary>What a step found besides its tops.</summary>
    public bool Accepting { get; private set; }

    /// <summary>Whether the rule at <see cref="StackTable.Base"/> completed during the step.</summary>
    public bool PoppedBase { get; private set; }

    /// <summary>Closes the nodes src[start..end) and appends the resulting tops to <paramref name="dst"/> (which may be src).</summary>
    public void Close(IntList src, int start, int end, IntList dst)
    {
        Begin();
        for (int i = start; i < end; i++)
        {
            Expand(src[i], dst);
        }
    }

    /// <summary>Closes one node into <paramref name="dst"/>.</summary>
    public void CloseOne(int node, IntList dst)
    {
        Begin();
        Expand(node, dst);
    }

    /// <summary>Reads byte <paramref name="b"/> from the tops src[start..end) and appends the closed successors to <paramref name="dst"/> (which may be src).</summary>
    public void Step(IntList src, int start, int end, byte b, IntList dst)
    {
        Begin();
        var a = _automaton;
        var table = Table;
        for (int i = start; i < end; i++)
        {
            int node = src[i];
            int next = a.Step(table.Position(node), b);
            if (next >= 0)
            {
                Expand(table.Intern(next, table.Parent(node)), dst);
            }
        }
    }

    private void Begin()
    {
        Accepting = false;
        PoppedBase = false;
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_stamp);
            _generation = 1;
        }
    }

    private void Expand(int first, IntList dst)
    {
        var a = _automaton;
        var table = Table;
        _work.Clear();
        _work.Add(first);
        while (_work.Count > 0)
        {
            int node = _work[_work.Count - 1];
            _work.Truncate(_work.Count - 1);
            if (node >= _stamp.Length)
            {
                Array.Resize(ref _stamp, Math.Max(node + 1, _stamp.Length * 2));
            }

            if (_stamp[node] == _generation)
            {
                continue;
            }

            _stamp[node] = _generation;
            int pos = table.Position(node);
            int parent = table.Parent(node);
            if (a.HasBytes[pos])
            {
                dst.Add(node);
            }

            for (int c = a.CallStart[pos]; c < a.CallStart[pos + 1]; c++)
            {
                // A call whose return position only completes the rule is a tail call: the callee
                // returns straight to our parent, so no frame is pushed (right recursion and chains
                // of optional members stay flat, and equal stacks stay equal).
                int returnPos = a.CallReturn[c];
                int ret = a.IsTailReturn[returnPos] ? parent : table.Intern(returnPos, parent);
                _work.Add(table.Intern(a.RuleStart[a.CallRule[c]], ret));
            }

            if (a.IsFinal[pos])
            {
                if (parent == StackTable.Root)
                {
                    Accepting = true;
                }
                else if (parent == StackTable.Base)
                {
                    PoppedBase = true;
                }
                else
                {
                    _work.Add(parent);
                }
            }
        }
    }
}
