using Folio.Engine.Core;
using Folio.Engine.Kv;

namespace Folio.Engine.Tests.Kv;

public sealed class KvBlockPoolTests
{
    private static int[] Tokens(int start, int n) => [.. Enumerable.Range(start, n)];

    [Fact]
    public void Allocates_every_block_once_then_refuses()
    {
        var pool = new KvBlockPool(4, 2);
        var got = Enumerable.Range(0, 4).Select(_ => pool.Allocate().Value).ToHashSet();
        Assert.Equal(4, got.Count);
        Assert.Equal(0, pool.NumFree);
        Assert.Throws<InvalidOperationException>(() => pool.Allocate());
        pool.CheckConsistency(expectAllFree: false);
    }

    [Fact]
    public void Double_free_throws()
    {
        var pool = new KvBlockPool(2, 2);
        var b = pool.Allocate();
        pool.Free(b);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Free(b));
        Assert.Contains("double free", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Leak_is_reported_when_no_sequence_is_alive()
    {
        var pool = new KvBlockPool(3, 2);
        _ = pool.Allocate();
        var e = Assert.Throws<InvalidOperationException>(() => pool.CheckConsistency(expectAllFree: true));
        Assert.Contains("leaked", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shared_block_is_free_only_after_the_last_reference()
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
    public void Freed_cached_block_stays_findable_until_reused()
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
    public void Eviction_takes_the_least_recently_freed_cached_block()
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
    public void Hash_collision_with_other_tokens_is_a_miss()
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
    public void Chained_hash_depends_on_the_parent_and_every_token()
    {
        ulong a = BlockHash.Compute(BlockHash.Root, [1, 2, 3, 4]);
        Assert.NotEqual(a, BlockHash.Compute(BlockHash.Root, [1, 2, 3, 5]));
        Assert.NotEqual(a, BlockHash.Compute(BlockHash.Root, [2, 1, 3, 4]));
        Assert.NotEqual(a, BlockHash.Compute(a, [1, 2, 3, 4]));
        Assert.Equal(a, BlockHash.Compute(BlockHash.Root, [1, 2, 3, 4]));
    }

    [Fact]
    public void Ref_count_of_a_never_allocated_block_is_zero()
    {
        var pool = new KvBlockPool(2, 2);
        Assert.Equal(0, pool.RefCount(new BlockId(1)));
    }
}
