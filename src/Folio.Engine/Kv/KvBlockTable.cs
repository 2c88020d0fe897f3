using Folio.Engine.Core;

namespace Folio.Engine.Kv;

/// <summary>One sequence's logical-to-physical block map, plus how far its prefix-cache hashing got.</summary>
public sealed class KvBlockTable
{
    private readonly int[] _blocks;

    public KvBlockTable(int maxBlocks)
    {
        _blocks = new int[maxBlocks];
    }

    public int Count { get; private set; }

    public int Capacity => _blocks.Length;

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

    internal void Replace(int index, BlockId block) => _blocks[index] = block.Value;

    internal void Clear()
    {
        Count = 0;
        NumHashedBlocks = 0;
        LastHash = BlockHash.Root;
    }
}
