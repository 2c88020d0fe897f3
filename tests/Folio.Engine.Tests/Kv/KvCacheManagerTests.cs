using Folio.Engine.Kv;
using Folio.Models;

namespace Folio.Engine.Tests.Kv;

public sealed class KvCacheManagerTests
{
    private readonly List<(int Src, int Dst)> _copies = [];

    private KvCacheManager Manager(int blocks, int blockSize, bool prefix = true, double watermark = 0) =>
        new(new KvBlockPool(blocks, blockSize), prefix, (s, d) =>
        {
            for (int i = 0; i < s.Length; i++)
            {
                _copies.Add((s[i], d[i]));
            }
        }, watermark);

    [Fact]
    public void Allocates_blocks_for_the_tokens_and_frees_them_all()
    {
        var kv = Manager(8, 4);
        var t = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(t, 9, 0, [], 0, 0));
        Assert.Equal(3, t.Count);
        Assert.True(kv.TryAllocate(t, 12, 9, [], 0, 0));
        Assert.Equal(3, t.Count);
        Assert.True(kv.TryAllocate(t, 13, 12, [], 0, 0));
        Assert.Equal(4, t.Count);
        kv.Free(t);
        Assert.Equal(0, t.Count);
        kv.Pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void Refuses_without_changing_anything_when_blocks_run_out()
    {
        var kv = Manager(4, 4);
        var a = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(a, 12, 0, [], 0, 0));
        var b = new KvBlockTable(8);
        Assert.False(kv.TryAllocate(b, 8, 0, [], 0, 0));
        Assert.Equal(0, b.Count);
        Assert.Equal(1, kv.Pool.NumFree);

        // The reserve (watermark) is respected too.
        Assert.False(kv.TryAllocate(b, 4, 0, [], 0, reserveBlocks: 1));
        Assert.True(kv.TryAllocate(b, 4, 0, [], 0, reserveBlocks: 0));
    }

    [Fact]
    public void Prefix_lookup_returns_full_blocks_but_always_leaves_the_last_token_to_compute()
    {
        var kv = Manager(16, 4);
        int[] tokens = [.. Enumerable.Range(100, 12)];
        var a = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(a, 12, 0, [], 0, 0));
        kv.CommitComputed(a, tokens, 12);
        var hits = new int[8];

        // 12 tokens = 3 full blocks, but the 12th token must be recomputed for its logits: 2 hits.
        Assert.Equal(2, kv.FindCachedPrefix(tokens, hits, out _));
        Assert.Equal(a.Blocks[..2].ToArray(), hits[..2]);

        // A longer prompt with the same start hits all 3; a different second block stops at 1.
        Assert.Equal(3, kv.FindCachedPrefix([.. tokens, 1], hits, out _));
        int[] other = [.. tokens];
        other[5] = 7;
        Assert.Equal(1, kv.FindCachedPrefix([.. other, 1], hits, out _));
    }

    [Fact]
    public void Hits_share_blocks_and_survive_the_original_owner()
    {
        var kv = Manager(16, 4);
        int[] tokens = [.. Enumerable.Range(100, 9)];
        var a = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(a, 9, 0, [], 0, 0));
        kv.CommitComputed(a, tokens, 9);
        kv.Free(a);

        var hits = new int[8];
        int n = kv.FindCachedPrefix(tokens, hits, out ulong last);
        Assert.Equal(2, n);
        var b = new KvBlockTable(8);
        int freeBefore = kv.Pool.NumFree;
        Assert.True(kv.TryAllocate(b, 9, 8, hits.AsSpan(0, n), last, 0));
        Assert.Equal(freeBefore - 3, kv.Pool.NumFree);
        Assert.Equal(2, b.NumHashedBlocks);
        kv.Free(b);
        kv.Pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void Disabled_prefix_caching_never_hits()
    {
        var kv = Manager(16, 4, prefix: false);
        int[] tokens = [.. Enumerable.Range(100, 9)];
        var a = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(a, 9, 0, [], 0, 0));
        kv.CommitComputed(a, tokens, 9);
        Assert.Equal(0, kv.FindCachedPrefix(tokens, new int[8], out _));
    }

    [Fact]
    public void Fork_shares_blocks_and_the_first_writer_copies_the_shared_partial_block()
    {
        var kv = Manager(8, 4);
        var parent = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(parent, 6, 0, [], 0, 0));
        var child = new KvBlockTable(8);
        kv.Fork(parent, child);
        Assert.Equal(parent.Blocks.ToArray(), child.Blocks.ToArray());
        Assert.Equal(2, kv.Pool.RefCount(parent[1]));

        // The child appends token 6 into block 1, shared: it gets a private copy.
        int shared = child[1].Value;
        Assert.True(kv.TryAllocate(child, 7, 6, [], 0, 0));
        Assert.NotEqual(shared, child[1].Value);
        Assert.Equal([(shared, child[1].Value)], _copies);
        Assert.Equal(1, kv.Pool.RefCount(parent[1]));
        Assert.Equal(parent[0], child[0]);
        Assert.Equal(1, kv.CopyOnWrites);

        // The parent now owns its block alone: no copy.
        Assert.True(kv.TryAllocate(parent, 7, 6, [], 0, 0));
        Assert.Single(_copies);
        kv.Free(parent);
        kv.Free(child);
        kv.Pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void Sequences_sharing_prefix_cache_hits_never_copy_a_block()
    {
        // Copy-on-write is reserved for forks (parallel sampling): two live sequences on the same
        // cached prefix both decode past it without a single block copy.
        var kv = Manager(16, 4);
        int[] tokens = [.. Enumerable.Range(100, 9)];
        var a = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(a, 9, 0, [], 0, 0));
        kv.CommitComputed(a, tokens, 9);

        var hits = new int[8];
        int n = kv.FindCachedPrefix(tokens, hits, out ulong last);
        Assert.Equal(2, n);
        var b = new KvBlockTable(8);
        Assert.True(kv.TryAllocate(b, 9, n * 4, hits.AsSpan(0, n), last, 0));
        Assert.Equal(2, kv.Pool.RefCount(b[0]));
        for (int length = 10; length <= 14; length++)
        {
            Assert.True(kv.TryAllocate(a, length, length - 1, [], 0, 0));
            Assert.True(kv.TryAllocate(b, length, length - 1, [], 0, 0));
        }

        Assert.Equal(0, kv.CopyOnWrites);
        Assert.Empty(_copies);
        Assert.Equal(a[0], b[0]);
        Assert.NotEqual(a[2], b[2]);
        kv.Free(a);
        kv.Free(b);
        kv.Pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void Watermark_is_one_percent_of_the_pool()
    {
        Assert.Equal(10, Manager(1000, 16, watermark: 0.01).WatermarkBlocks);
        Assert.Equal(0, Manager(50, 16, watermark: 0.01).WatermarkBlocks);
    }
}
