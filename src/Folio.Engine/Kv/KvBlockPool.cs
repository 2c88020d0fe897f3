using Folio.Engine.Core;

namespace Folio.Engine.Kv;

/// <summary>
/// The preallocated pool of KV blocks: reference counts, one free queue, and the prefix-cache index.
///
/// A freed block goes to the tail of the free queue but keeps its prefix-cache entry, so a later
/// request with the same prefix can take it back (a hit removes it from the queue). Allocation pops
/// the head, which is the least recently freed block, and only then forgets its cache entry: the
/// free queue is the LRU evictor. Blocks that never held a full cached block are put at the head so
/// they are reused before any cached block is evicted. The queue is a doubly linked list over arrays,
/// so nothing here allocates after construction.
/// </summary>
public sealed class KvBlockPool
{
    private readonly int[] _refCount;
    private readonly int[] _prev;
    private readonly int[] _next;
    private readonly bool[] _inFreeQueue;
    private readonly bool[] _hasHash;
    private readonly ulong[] _hash;
    private readonly ulong[] _parentHash;
    private readonly int[] _tokens;
    private readonly Dictionary<ulong, int> _cached;
    private readonly int _sentinel;

    public KvBlockPool(int numBlocks, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        _refCount = new int[numBlocks];
        _prev = new int[numBlocks + 1];
        _next = new int[numBlocks + 1];
        _inFreeQueue = new bool[numBlocks];
        _hasHash = new bool[numBlocks];
        _hash = new ulong[numBlocks];
        _parentHash = new ulong[numBlocks];
        _tokens = new int[checked(numBlocks * blockSize)];
        _cached = new Dictionary<ulong, int>(numBlocks);
        _sentinel = numBlocks;
        _prev[_sentinel] = _sentinel;
        _next[_sentinel] = _sentinel;
        for (int b = 0; b < numBlocks; b++)
        {
            PushTail(b);
        }
    }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    /// <summary>Blocks that can be handed out now: never used, or freed (cached ones are evicted on reuse).</summary>
    public int NumFree { get; private set; }

    public long Evictions { get; private set; }

    public int RefCount(BlockId block) => _refCount[block.Value];

    /// <summary>Pops the least recently freed block (evicting its cache entry), with one reference.</summary>
    public BlockId Allocate()
    {
        if (NumFree == 0)
        {
            throw new InvalidOperationException("KV block pool exhausted: the scheduler must check NumFree before allocating");
        }

        int b = _next[_sentinel];
        Unlink(b);
        if (_hasHash[b])
        {
            _cached.Remove(_hash[b]);
            _hasHash[b] = false;
            Evictions++;
        }

        _refCount[b] = 1;
        return new BlockId(b);
    }

    /// <summary>Adds a reference (a prefix-cache hit or a fork); a free cached block leaves the free queue.</summary>
    public void AddRef(BlockId block)
    {
        int b = block.Value;
        if (_refCount[b] == 0)
        {
            if (!_inFreeQueue[b])
            {
                throw new InvalidOperationException($"block {b} has no reference and is not free: pool state is corrupt");
            }

            Unlink(b);
        }

        _refCount[b]++;
    }

    /// <summary>Drops one reference; at zero the block becomes free (still findable if cached).</summary>
    public void Free(BlockId block)
    {
        int b = block.Value;
        if (_refCount[b] <= 0)
        {
            throw new InvalidOperationException($"double free of KV block {b}");
        }

        if (--_refCount[b] == 0)
        {
            if (_hasHash[b])
            {
                PushTail(b);
            }
            else
            {
                PushHead(b);
            }
        }
    }

    /// <summary>
    /// Looks up a full block by its chained hash; a hit must also match the parent hash and every
    /// token, so a hash collision is a miss, never a wrong result.
    /// </summary>
    public bool TryFindCached(ulong hash, ulong parentHash, ReadOnlySpan<int> tokens, out BlockId block)
    {
        if (_cached.TryGetValue(hash, out int b)
            && _parentHash[b] == parentHash
            && _tokens.AsSpan(b * BlockSize, BlockSize).SequenceEqual(tokens))
        {
            block = new BlockId(b);
            return true;
        }

        block = default;
        return false;
    }

    /// <summary>
    /// Records a block that is now full and computed. When another block already holds the same
    /// content (computed twice before either was registered), the first one stays the cached copy.
    /// </summary>
    public void RegisterFull(BlockId block, ulong hash, ulong parentHash, ReadOnlySpan<int> tokens)
    {
        int b = block.Value;
        if (tokens.Length != BlockSize)
        {
            throw new ArgumentException($"a cached block holds exactly {BlockSize} tokens, got {tokens.Length}", nameof(tokens));
        }

        if (_hasHash[b] || !_cached.TryAdd(hash, b))
        {
            return;
        }

        _hasHash[b] = true;
        _hash[b] = hash;
        _parentHash[b] = parentHash;
        tokens.CopyTo(_tokens.AsSpan(b * BlockSize, BlockSize));
    }

    /// <summary>
    /// Checks the pool's invariants: reference counts never negative, the free queue holds exactly
    /// the blocks with no reference, the cache index agrees with the blocks. With
    /// <paramref name="expectAllFree"/> (no sequence alive) any referenced block is a leak.
    /// </summary>
    public void CheckConsistency(bool expectAllFree)
    {
        int inQueue = 0;
        for (int b = _next[_sentinel]; b != _sentinel; b = _next[b])
        {
            if (!_inFreeQueue[b] || _refCount[b] != 0)
            {
                throw new InvalidOperationException($"free queue holds block {b} with {_refCount[b]} references");
            }

            if (++inQueue > NumBlocks)
            {
                throw new InvalidOperationException("free queue has a cycle");
            }
        }

        if (inQueue != NumFree)
        {
            throw new InvalidOperationException($"free queue length {inQueue} != NumFree {NumFree}");
        }

        for (int b = 0; b < NumBlocks; b++)
        {
            if (_refCount[b] < 0)
            {
                throw new InvalidOperationException($"block {b} has a negative reference count {_refCount[b]}");
            }

            if ((_refCount[b] == 0) != _inFreeQueue[b])
            {
                throw new InvalidOperationException($"block {b}: {_refCount[b]} references but inFreeQueue={_inFreeQueue[b]}");
            }

            if (expectAllFree && _refCount[b] != 0)
            {
                throw new InvalidOperationException($"KV block {b} leaked: {_refCount[b]} references remain with no sequence alive");
            }
        }

        foreach (var (hash, b) in _cached)
        {
            if (!_hasHash[b] || _hash[b] != hash)
            {
                throw new InvalidOperationException($"prefix-cache index points at block {b} whose hash disagrees");
            }
        }
    }

    private void PushTail(int b)
    {
        int last = _prev[_sentinel];
        _next[last] = b;
        _prev[b] = last;
        _next[b] = _sentinel;
        _prev[_sentinel] = b;
        _inFreeQueue[b] = true;
        NumFree++;
    }

    private void PushHead(int b)
    {
        int first = _next[_sentinel];
        _prev[first] = b;
        _next[b] = first;
        _prev[b] = _sentinel;
        _next[_sentinel] = b;
        _inFreeQueue[b] = true;
        NumFree++;
    }

    private void Unlink(int b)
    {
        _next[_prev[b]] = _next[b];
        _prev[_next[b]] = _prev[b];
        _inFreeQueue[b] = false;
        NumFree--;
    }
}
