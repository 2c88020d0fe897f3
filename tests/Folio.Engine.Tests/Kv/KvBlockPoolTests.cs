using Folio.Engine.Core;
using Folio.Engine.Kv;

namespace Folio.Engine.Tests.Kv;

public sealed class KvBlockPoolTests
{
    private static int[] Tokens(int start, int n) => [.. Enumerable.Range(start, n)];

    [Fact]
    public void AllocatesEveryBlockOnceThenRefuses()
    {
        var pool = new KvBlockPool(4, 2);
        var got = Enumerable.Range(0, 4).Select(_ => pool.Allocate().Value).ToHashSet();
        Assert.Equal(4, got.Count);
        Assert.Equal(0, pool.NumFree);
        Assert.Throws<InvalidOperationException>(() => pool.Allocate());
        pool.CheckConsistency(expectAllFree: false);
    }

    [Fact]
    public void DoubleFreeThrows()
    {
        var pool = new KvBlockPool(2, 2);
        var b = pool.Allocate();
        pool.Free(b);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Free(b));
        Assert.Contains("double free", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LeakIsReportedWhenNoSequenceIsAlive()
    {
        var pool = new KvBlockPool(3, 2);
        _ = pool.Allocate();
        var e = Assert.Throws<InvalidOperationException>(() => pool.CheckConsistency(expectAllFree: true));
        Assert.Contains("leaked", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SharedBlockIsFreeOnlyAfterTheLastReference()
    {
        var pool = new KvBlockPool(2, 2);
        var b = pool.Allocate();
        pool.AddRef(b);
        pool.Free(b);
        Assert.Equal(1, pool.NumFree);
        pool.Free(b);
        Assert.Equal(2, pool.NumFree);
        pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void FreedCachedBlockStaysFindableUntilReused()
    {
        var pool = new KvBlockPool(2, 2);
        var b = pool.Allocate();
        ulong h = BlockHash.Compute(BlockHash.Root, Tokens(5, 2));
        pool.RegisterFull(b, h, BlockHash.Root, Tokens(5, 2));
        pool.Free(b);
        Assert.True(pool.TryFindCached(h, BlockHash.Root, Tokens(5, 2), out var hit));
        Assert.Equal(b, hit);

        // Reviving a free cached block takes it off the free queue.
        pool.AddRef(hit);
        Assert.Equal(1, pool.NumFree);
        pool.Free(hit);

        // The never-cached block is handed out first; the cached one only when nothing else is left.
        var first = pool.Allocate();
        Assert.NotEqual(b, first);
        Assert.True(pool.TryFindCached(h, BlockHash.Root, Tokens(5, 2), out _));
        var second = pool.Allocate();
        Assert.Equal(b, second);
        Assert.False(pool.TryFindCached(h, BlockHash.Root, Tokens(5, 2), out _));
        Assert.Equal(1, pool.Evictions);
    }

    [Fact]
    public void EvictionTakesTheLeastRecentlyFreedCachedBlock()
    {
        var pool = new KvBlockPool(3, 1);
        var blocks = Enumerable.Range(0, 3).Select(_ => pool.Allocate()).ToArray();
        var hashes = new ulong[3];
        for (int i = 0; i < 3; i++)
        {
            hashes[i] = BlockHash.Compute(BlockHash.Root, [i + 10]);
            pool.RegisterFull(blocks[i], hashes[i], BlockHash.Root, [i + 10]);
        }

        // Free order 1, 0, 2: block 1 is the oldest free one, so it is evicted first.
        pool.Free(blocks[1]);
        pool.Free(blocks[0]);
        pool.Free(blocks[2]);
        Assert.Equal(blocks[1], pool.Allocate());
        Assert.False(pool.TryFindCached(hashes[1], BlockHash.Root, [11], out _));
        Assert.True(pool.TryFindCached(hashes[0], BlockHash.Root, [10], out _));
        Assert.Equal(blocks[0], pool.Allocate());
    }

    [Fact]
    public void HashCollisionWithOtherTokensIsAMiss()
    {
        var pool = new KvBlockPool(2, 2);
        var b = pool.Allocate();
        ulong h = BlockHash.Compute(BlockHash.Root, [1, 2]);
        pool.RegisterFull(b, h, BlockHash.Root, [1, 2]);

        // Same key, different tokens or different parent: as if two prefixes collided.
        Assert.False(pool.TryFindCached(h, BlockHash.Root, [1, 3], out _));
        Assert.False(pool.TryFindCached(h, 77UL, [1, 2], out _));
        Assert.True(pool.TryFindCached(h, BlockHash.Root, [1, 2], out _));
    }

    [Fact]
    public void ChainedHashDependsOnTheParentAndEveryToken()
    {
        ulong a = BlockHash.Compute(BlockHash.Root, [1, 2, 3, 4]);
        Assert.NotEqual(a, BlockHash.Compute(BlockHash.Root, [1, 2, 3, 5]));
        Assert.NotEqual(a, BlockHash.Compute(BlockHash.Root, [2, 1, 3, 4]));
        Assert.NotEqual(a, BlockHash.Compute(a, [1, 2, 3, 4]));
        Assert.Equal(a, BlockHash.Compute(BlockHash.Root, [1, 2, 3, 4]));
    }

    [Fact]
    public void RefCountOfANeverAllocatedBlockIsZero()
    {
        var pool = new KvBlockPool(2, 2);
        Assert.Equal(0, pool.RefCount(new BlockId(1)));
    }
}
