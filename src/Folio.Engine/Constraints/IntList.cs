namespace Folio.Engine.Constraints;

/// <summary>A growable int buffer reused across steps: after warm-up, adding allocates nothing.</summary>
internal sealed class IntList
{
    private int[] _items;

    public IntList(int capacity = 16) => _items = new int[Math.Max(4, capacity)];

    public int Count { get; private set; }

    public int this[int index] => _items[index];

    public ReadOnlySpan<int> Span => _items.AsSpan(0, Count);

    public Span<int> AsSpan() => _items.AsSpan(0, Count);

    public ReadOnlySpan<int> Slice(int start, int end) => _items.AsSpan(start, end - start);

    public void Add(int value)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        _items[Count++] = value;
    }

    public void Clear() => Count = 0;

    /// <summary>Drops everything from <paramref name="count"/> on.</summary>
    public void Truncate(int count) => Count = count;

    public void CopyFrom(IntList other)
    {
        Clear();
        foreach (int v in other.Span)
        {
            Add(v);
        }
    }

    public void Sort() => _items.AsSpan(0, Count).Sort();
}
