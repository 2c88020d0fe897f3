namespace Folio.Engine.Constraints;

/// <summary>
/// Interned parser stacks: a node is (position, parent node), so equal stacks are one id and a set of
/// stacks is a set of ints. The parent of a bottom node is <see cref="Root"/> (the whole output ends
/// when that rule completes) or, while precomputing a position's token classes, <see cref="Base"/>
/// (what lies below is unknown). Not thread-safe: one table per matcher or precompute workspace.
/// </summary>
internal sealed class StackTable
{
    public const int Root = -1;
    public const int Base = -2;

    private readonly Dictionary<long, int> _index = [];
    private int[] _pos = new int[256];
    private int[] _parent = new int[256];

    public int Count { get; private set; }

    public int Position(int node) => _pos[node];

    public int Parent(int node) => _parent[node];

    public int Intern(int position, int parent)
    {
        long key = ((long)position << 32) | (uint)parent;
        if (_index.TryGetValue(key, out int id))
        {
            return id;
        }

        if (Count == _pos.Length)
        {
            Array.Resize(ref _pos, Count * 2);
            Array.Resize(ref _parent, Count * 2);
        }

        id = Count++;
        _pos[id] = position;
        _parent[id] = parent;
        _index[key] = id;
        return id;
    }

    public void Clear()
    {
        _index.Clear();
        Count = 0;
    }
}
