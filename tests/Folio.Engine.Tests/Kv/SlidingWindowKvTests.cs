using Folio.Engine.Kv;

namespace Folio.Engine.Tests.Kv;

/// <summary>
/// The KV manager with a window on every layer: blocks behind the window go back to the pool as a
/// sequence grows, and a prefix-cache hit needs only the blocks inside the window of the first token
/// it leaves to compute.
/// </summary>
public sealed class SlidingWindowKvTests
{
    private static KvCacheManager Manager(int blocks, int blockSize, int? window) =>
        new(new KvBlockPool(blocks, blockSize), enablePrefixCaching: true, (_, _) => throw new InvalidOperationException("no copy-on-write expected"), 0, window);

    [Fact]
    public void A_growing_sequence_holds_at_most_window_over_block_size_plus_one_blocks()
    {
        // 8 blocks of 4 tokens hold 32 tokens; a window of 8 lets one sequence run to 200.
        var kv = Manager(8, 4, window: 8);
        var t = new KvBlockTable(64);
        int[] tokens = [.. Enumerable.Range(0, 200).Select(i => 5 + (i % 50))];
        int maxHeld = 0;
        for (int p = 0; p < 200; p++)
        {
            Assert.True(kv.TryAllocate(t, p + 1, p, [], 0, 0), $"position {p}: the window's blocks must always fit");
            kv.CommitComputed(t, tokens, p + 1);
            maxHeld = Math.Max(maxHeld, t.NumHeld);

            // The query at p reads p - 7 .. p: those blocks are held, every earlier one is dropped.
            int firstVisible = Math.Max(0, p - 7) / 4;
            Assert.Equal(firstVisible, t.NumDropped);
            Assert.All(t.Blocks[firstVisible..].ToArray(), b => Assert.NotEqual(KvBlockTable.Dropped, b));
            Assert.All(t.Blocks[..firstVisible].ToArray(), b => Assert.Equal(KvBlockTable.Dropped, b));
            kv.Pool.CheckConsistency(expectAllFree: false);
        }

        Assert.Equal(3, maxHeld);
        Assert.Equal(50, t.Count);
        Assert.Equal(t.NumDropped, kv.DroppedBlocks);
        kv.Free(t);
        kv.Pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void Without_a_window_the_same_sequence_runs_out_of_blocks()
    {
        var kv = Manager(8, 4, window: null);
        var t = new KvBlockTable(64);
        int p = 0;
        while (p < 200 && kv.TryAllocate(t, p + 1, p, [], 0, 0))
        {
            p++;
        }

        Assert.Equal(32, p);
        Assert.Equal(0, t.NumDropped);
        Assert.Equal(0, kv.DroppedBlocks);
    }

    [Fact]
    public void A_prefix_hit_skips_evicted_blocks_before_its_window()
    {
        var kv = Manager(16, 4, window: 8);
        int[] tokens = [.. Enumerable.Range(100, 41)];

        // A computes 40 tokens, then making room for its 41st drops blocks 0..7, then it ends.
        var a = new KvBlockTable(16);
        Assert.True(kv.TryAllocate(a, 40, 0, [], 0, 0));
        kv.CommitComputed(a, tokens, 40);
        Assert.True(kv.TryAllocate(a, 41, 40, [], 0, 0));
        Assert.Equal(8, a.NumDropped);
        kv.Free(a);

        // Another sequence takes 9 blocks: the 6 never used, then the 3 dropped first (0, 1, 2),
        // evicting them from the cache. A left-to-right prefix match would now find nothing.
        var other = new KvBlockTable(16);
        Assert.True(kv.TryAllocate(other, 36, 0, [], 0, 0));
        Assert.Equal(3, kv.Pool.Evictions);

        // The first token to compute (position 40) sees 33..40: blocks 8 and 9 are all it needs.
        var hits = new int[16];
        int n = kv.FindCachedPrefix(tokens, hits, out ulong lastHash);
        Assert.Equal(10, n);
        Assert.Equal(Enumerable.Repeat(KvBlockTable.Dropped, 8), hits[..8]);
        Assert.DoesNotContain(KvBlockTable.Dropped, hits[8..10]);
        var b = new KvBlockTable(16);
        Assert.True(kv.TryAllocate(b, 41, 40, hits.AsSpan(0, n), lastHash, 0));
        Assert.Equal(11, b.Count);
        Assert.Equal(8, b.NumDropped);
        Assert.Equal(3, b.NumHeld);
        kv.CommitComputed(b, tokens, 41);
        Assert.Equal(10, b.NumHashedBlocks);
        kv.Free(b);
        kv.Free(other);
        kv.Pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void A_prefix_whose_window_was_evicted_is_not_a_hit_there()
    {
        var kv = Manager(12, 4, window: 8);
        int[] tokens = [.. Enumerable.Range(100, 41)];
        var a = new KvBlockTable(16);
        Assert.True(kv.TryAllocate(a, 40, 0, [], 0, 0));
        kv.CommitComputed(a, tokens, 40);
        kv.Free(a);

        // A freed its blocks last first: 9 and 8 are evicted before 0..7 by the next 4 allocations
        // (two never-used blocks, then 9, 8).
        var other = new KvBlockTable(16);
        Assert.True(kv.TryAllocate(other, 16, 0, [], 0, 0));
        var hits = new int[16];
        int n = kv.FindCachedPrefix(tokens, hits, out _);

        // Blocks 0..7 are still cached; the token at 32 sees 25..32, blocks 6..7: a hit of 8 blocks.
        Assert.Equal(8, n);
        Assert.DoesNotContain(KvBlockTable.Dropped, hits[6..8]);
        Assert.All(hits[..6], h => Assert.Equal(KvBlockTable.Dropped, h));
    }
}
