using Folio.Engine.Core;

namespace Folio.Engine.Kv;

/// <summary>
/// One sequence's logical-to-physical block map, plus how far its prefix-cache hashing got. When
/// every layer attends over a sliding window, leading blocks that fell out of the window are given
/// back to the pool and their entries read <see cref="Dropped"/>: the table keeps its logical length
/// (position p is still in entry p / blockSize), and attention never reads a dropped entry.
/// </summary>
public sealed class KvBlockTable
{
    /// <summary>The entry of a block that fell out of the window and went back to the pool.</summary>
    public const int Dropped = -1;

    private readonly int[] _blocks;

    public KvBlockTable(int maxBlocks)
    {
        _blocks = new int[maxBlocks];
    }

    /// <summary>Logical blocks, dropped ones included.</summary>
    public int Count { get; private set; }

    public int Capacity => _blocks.Length;

    /// <summary>Leading entries dropped (out of every layer's window); they are always a prefix.</summary>
    public int NumDropped { get; private set; }

    /// <summary>Blocks this sequence holds a reference on.</summary>
    public int NumHeld => Count - NumDropped;

    /// <summary>Leading blocks already registered in the prefix cache (or taken from it).</summary>
    public int NumHashedBlocks { get; internal set; }

    /// <summary>The chained hash of the last hashed block (the parent of the next one).</summary>
    public ulong LastHash { get; internal set; } = BlockHash.Root;

    public ReadOnlySpan<int> Blocks => _blocks.AsSpan(0, Count);

    public BlockId this[int index] => new(_blocks[index]);

    internal void Append(BlockId block)
    {
        if (Count == _blocks.Length)
        {
            throw new InvalidOperationException($"block table full ({_blocks.Length} blocks): the sequence exceeds the model's context");
        }

        _blocks[Count++] = block.Value;
    }

    /// <summary>Appends an entry with no block behind it (a prefix-cache hit before the window); only before any held block.</summary>
    internal void AppendDropped()
    {
        if (NumDropped != Count)
        {
            throw new InvalidOperationException("dropped entries can only lead the block table");
        }

        Append(new BlockId(Dropped));
        NumDropped++;
    }

    /// <summary>Marks the first held entry dropped (its block was given back); returns that block.</summary>
    internal BlockId DropFirstHeld()
    {
        if (NumDropped == Count)
        {
            throw new InvalidOperationException("no held block to drop");
        }

        var block = new BlockId(_blocks[NumDropped]);
        _blocks[NumDropped++] = Dropped;
        return block;
    }

    internal void Replace(int index, BlockId block) => _blocks[index] = block.Value;

    internal void Clear()
    {
        Count = 0;
        NumDropped = 0;
        NumHashedBlocks = 0;
        LastHash = BlockHash.Root;
    }
}
