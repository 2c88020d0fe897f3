using Folio.Engine.Core;

namespace Folio.Engine.Kv;

/// <summary>
/// Copies whole KV blocks on the device: dst[i] := src[i] (IModelRunner.CopyBlocks). Called only by
/// copy-on-write, the seam for parallel sampling (see <see cref="KvCacheManager.Fork"/>).
/// </summary>
public delegate void BlockCopy(ReadOnlySpan<int> sources, ReadOnlySpan<int> destinations);

/// <summary>
/// Sequence-level KV management over a <see cref="KvBlockPool"/>: slot allocation for new tokens,
/// prefix-cache lookup and registration, fork with copy-on-write, and freeing. The scheduler asks
/// here whether a step's tokens fit before it schedules them.
/// </summary>
/// <remarks>
/// With <see cref="AttentionWindow"/> (every layer of the model attends over the same sliding
/// window), a sequence gives back each leading block once no query it will still compute can see it
/// (<see cref="DropOutOfWindow"/>), so a long generation holds about window / blockSize + 1 blocks. A
/// dropped block keeps its prefix-cache entry like any freed block; a prefix-cache hit then needs
/// only the blocks inside the window of the first token it leaves to compute (vLLM's sliding-window
/// manager has the same rule), and the entries before them start the new table dropped.
///
/// Copy-on-write is kept on purpose as the seam for parallel sampling (n &gt; 1 completions of one
/// prompt, which the wire contract does not offer yet): <see cref="Fork"/> lets the samples share
/// the prompt's blocks, and the first one to write into a shared block gets a private copy through
/// <see cref="BlockCopy"/>. Nothing forks today, so in serving no copy happens: prefix-cache hits
/// share only full blocks, and a sequence never writes into a full block. KvCacheManagerTests
/// holds the fork and copy behaviour so the seam works when n &gt; 1 lands.
/// </remarks>
public sealed class KvCacheManager
{
    private readonly BlockCopy _copy;
    private readonly int[] _copySrc = new int[1];
    private readonly int[] _copyDst = new int[1];

    public KvCacheManager(KvBlockPool pool, bool enablePrefixCaching, BlockCopy copy, double watermarkFraction = 0.01, int? attentionWindow = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attentionWindow ?? 1, 1, nameof(attentionWindow));
        Pool = pool;
        PrefixCachingEnabled = enablePrefixCaching;
        _copy = copy;
        WatermarkBlocks = (int)(pool.NumBlocks * watermarkFraction);
        AttentionWindow = attentionWindow;
    }

    public KvBlockPool Pool { get; }

    public int BlockSize => Pool.BlockSize;

    public bool PrefixCachingEnabled { get; }

    /// <summary>
    /// Keys every layer's query sees, its own included, when every layer is local
    /// (ModelConfig.WindowOfEveryLayer); null when some layer reads the whole context and no block
    /// can be dropped.
    /// </summary>
    public int? AttentionWindow { get; }

    /// <summary>Blocks given back because they fell out of the window (see <see cref="DropOutOfWindow"/>).</summary>
    public long DroppedBlocks { get; private set; }

    /// <summary>Blocks kept free when admitting new requests, so running ones can still grow.</summary>
    public int WatermarkBlocks { get; }

    /// <summary>Prompt tokens looked up in the prefix cache at admission.</summary>
    public long PrefixQueryTokens { get; private set; }

    /// <summary>Of those, tokens found in the cache.</summary>
    public long PrefixHitTokens { get; private set; }

    /// <summary>Shared blocks copied before a write (only forked sequences share writable blocks).</summary>
    public long CopyOnWrites { get; private set; }

    public int BlocksFor(int tokens) => (tokens + BlockSize - 1) / BlockSize;

    /// <summary>
    /// Finds the longest run of leading full blocks of <paramref name="tokens"/> in the prefix
    /// cache, leaving at least the last token to compute (its logits are needed). Takes no reference.
    /// Returns the number of hit blocks written to <paramref name="hits"/>. With
    /// <see cref="AttentionWindow"/>, leading entries the first computed token cannot see may be
    /// <see cref="KvBlockTable.Dropped"/> (those blocks may have been evicted).
    /// </summary>
    public int FindCachedPrefix(ReadOnlySpan<int> tokens, Span<int> hits, out ulong lastHash)
    {
        lastHash = BlockHash.Root;
        if (!PrefixCachingEnabled)
        {
            return 0;
        }

        int maxBlocks = Math.Min((tokens.Length - 1) / BlockSize, hits.Length);
        if (AttentionWindow is int window)
        {
            return FindCachedWindow(tokens, hits, maxBlocks, window, out lastHash);
        }

        int n = 0;
        ulong parent = BlockHash.Root;
        for (; n < maxBlocks; n++)
        {
            var blockTokens = tokens.Slice(n * BlockSize, BlockSize);
            ulong h = BlockHash.Compute(parent, blockTokens);
            if (!Pool.TryFindCached(h, parent, blockTokens, out var block))
            {
                break;
            }

            hits[n] = block.Value;
            parent = h;
        }

        lastHash = parent;
        return n;
    }

    /// <summary>
    /// The windowed prefix hit: the most blocks n such that the blocks the token at n · blockSize can
    /// see (its window) are all cached. Hashes chain over tokens alone, so a block evicted before the
    /// window does not break the chain; every block of the prefix is still checked by hash, parent
    /// and tokens, so a hit never changes a result.
    /// </summary>
    private int FindCachedWindow(ReadOnlySpan<int> tokens, Span<int> hits, int maxBlocks, int window, out ulong lastHash)
    {
        lastHash = BlockHash.Root;
        int best = 0;
        int run = 0;
        ulong parent = BlockHash.Root;
        for (int i = 0; i < maxBlocks; i++)
        {
            var blockTokens = tokens.Slice(i * BlockSize, BlockSize);
            ulong h = BlockHash.Compute(parent, blockTokens);
            if (Pool.TryFindCached(h, parent, blockTokens, out var block))
            {
                hits[i] = block.Value;
                run++;
            }
            else
            {
                hits[i] = KvBlockTable.Dropped;
                run = 0;
            }

            parent = h;
            int n = i + 1;
            if (run >= n - FirstVisibleBlock(n * BlockSize, window))
            {
                best = n;
                lastHash = h;
            }
        }

        hits[..FirstVisibleBlock(best * BlockSize, window)].Fill(KvBlockTable.Dropped);
        return best;
    }

    /// <summary>The first block a query at <paramref name="position"/> reads through a window.</summary>
    private int FirstVisibleBlock(int position, int window) => Math.Max(0, position + 1 - window) / BlockSize;

    /// <summary>
    /// Gives back the leading blocks of <paramref name="table"/> that no query at
    /// <paramref name="firstQueryPosition"/> or later can see (every slot before its window); does
    /// nothing without <see cref="AttentionWindow"/>. Earliest first, so they are also evicted first.
    /// </summary>
    public void DropOutOfWindow(KvBlockTable table, int firstQueryPosition)
    {
        if (AttentionWindow is not int window)
        {
            return;
        }

        int keepFrom = Math.Min(FirstVisibleBlock(firstQueryPosition, window), table.Count);
        while (table.NumDropped < keepFrom)
        {
            Pool.Free(table.DropFirstHeld());
            DroppedBlocks++;
        }
    }

    public void RecordPrefixQuery(int queriedTokens, int hitTokens)
    {
        PrefixQueryTokens += queriedTokens;
        PrefixHitTokens += hitTokens;
    }

    /// <summary>
    /// Makes room for a sequence to hold <paramref name="totalTokens"/> tokens, the first new one at
    /// <paramref name="firstWritePosition"/>: takes references on <paramref name="hits"/> (an empty
    /// table only), allocates the missing blocks, and copies a shared block about to be written
    /// (copy-on-write). Nothing else changes when the blocks are not there beyond
    /// <paramref name="reserveBlocks"/>; returns false then. Before counting, blocks out of the window
    /// of <paramref name="firstWritePosition"/> are given back (<see cref="DropOutOfWindow"/>): no
    /// later step reads them, whether or not this one fits.
    /// </summary>
    public bool TryAllocate(KvBlockTable table, int totalTokens, int firstWritePosition, ReadOnlySpan<int> hits, ulong hitsLastHash, int reserveBlocks)
    {
        if (hits.Length > 0 && table.Count != 0)
        {
            throw new InvalidOperationException("prefix-cache hits can only start an empty block table");
        }

        DropOutOfWindow(table, firstWritePosition);

        int needTotal = BlocksFor(totalTokens);
        if (needTotal > table.Capacity)
        {
            return false;
        }

        int newBlocks = Math.Max(0, needTotal - table.Count - hits.Length);
        int takenFromFree = 0;
        foreach (int b in hits)
        {
            if (b != KvBlockTable.Dropped && Pool.RefCount(new BlockId(b)) == 0)
            {
                takenFromFree++;
            }
        }

        int writeBlock = firstWritePosition / BlockSize;
        bool cow = writeBlock < table.Count && table[writeBlock].Value != KvBlockTable.Dropped && Pool.RefCount(table[writeBlock]) > 1;
        if (newBlocks + takenFromFree + (cow ? 1 : 0) > Pool.NumFree - reserveBlocks)
        {
            return false;
        }

        foreach (int b in hits)
        {
            if (b == KvBlockTable.Dropped)
            {
                table.AppendDropped();
                continue;
            }

            Pool.AddRef(new BlockId(b));
            table.Append(new BlockId(b));
        }

        if (hits.Length > 0)
        {
            table.NumHashedBlocks = hits.Length;
            table.LastHash = hitsLastHash;
        }

        if (cow)
        {
            CopyOnWrite(table, writeBlock);
        }

        for (int i = 0; i < newBlocks; i++)
        {
            table.Append(Pool.Allocate());
        }

        return true;
    }

    /// <summary>
    /// Registers every block that is now full and computed in the prefix cache, chaining hashes from
    /// the last registered one. <paramref name="tokens"/> is the sequence's token list.
    /// </summary>
    public void CommitComputed(KvBlockTable table, ReadOnlySpan<int> tokens, int computedTokens)
    {
        if (!PrefixCachingEnabled)
        {
            return;
        }

        int full = Math.Min(computedTokens / BlockSize, table.Count);
        while (table.NumHashedBlocks < full)
        {
            int i = table.NumHashedBlocks;
            var blockTokens = tokens.Slice(i * BlockSize, BlockSize);
            ulong parent = table.LastHash;
            ulong h = BlockHash.Compute(parent, blockTokens);
            if (table[i].Value != KvBlockTable.Dropped)
            {
                // A dropped block is out of every window: nothing to register, but the chain goes on.
                Pool.RegisterFull(table[i], h, parent, blockTokens);
            }

            table.LastHash = h;
            table.NumHashedBlocks = i + 1;
        }
    }

    /// <summary>Gives back a sequence's blocks, last first, so its tail is evicted before its shared prefix.</summary>
    public void Free(KvBlockTable table)
    {
        for (int i = table.Count - 1; i >= table.NumDropped; i--)
        {
            Pool.Free(table[i]);
        }

        table.Clear();
    }

    /// <summary>
    /// Makes <paramref name="child"/> share every block of <paramref name="parent"/>; the first one to
    /// write into a shared block copies it. The seam for parallel sampling (n &gt; 1 samples of one
    /// prompt after one prefill): no caller in the engine yet, by design (see the class remarks).
    /// </summary>
    public void Fork(KvBlockTable parent, KvBlockTable child)
    {
        if (child.Count != 0)
        {
            throw new InvalidOperationException("fork target must be an empty block table");
        }

        foreach (int b in parent.Blocks)
        {
            if (b == KvBlockTable.Dropped)
            {
                child.AppendDropped();
                continue;
            }

            Pool.AddRef(new BlockId(b));
            child.Append(new BlockId(b));
        }

        child.NumHashedBlocks = parent.NumHashedBlocks;
        child.LastHash = parent.LastHash;
    }

    private void CopyOnWrite(KvBlockTable table, int index)
    {
        var shared = table[index];
        var fresh = Pool.Allocate();
        _copySrc[0] = shared.Value;
        _copyDst[0] = fresh.Value;
        _copy(_copySrc, _copyDst);
        table.Replace(index, fresh);
        Pool.Free(shared);
        CopyOnWrites++;
    }
}
