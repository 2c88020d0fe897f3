using System.Runtime.InteropServices;

namespace Folio.Cpu;

/// <summary>
/// A bounded cache of mapped experts' packed panels, least recently used out first: an expert weight
/// used again finds its panels packed (as a packed expert would) instead of repacking them from the
/// file. Routing in served traffic is skewed, so the hot experts stay packed while the cold ones cost
/// nothing until a token is routed to them; a cache as large as the experts makes mapped experts as
/// fast as packed ones after their first use, and a cache of zero bytes packs every panel at every
/// step. The runner asks it on its own thread before each mapped weight's kernels start, so it needs
/// no locks; buffers are native memory, allocated on a miss (or taken over from the evicted weight
/// when it has the same size), so a step allocates nothing on the managed heap.
/// </summary>
internal sealed unsafe class ExpertPanelCache : IDisposable
{
    private readonly MappedMatrix[] _weights;
    private long _clock;

    public ExpertPanelCache(long capacityBytes, MappedMatrix[] weights)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
        _weights = weights;
    }

    public long CapacityBytes { get; }

    /// <summary>Bytes of packed panels held now.</summary>
    public long UsedBytes { get; private set; }

    /// <summary>Uses of a mapped weight whose panels were in the cache.</summary>
    public long Hits { get; private set; }

    /// <summary>Uses that had to pack the panels from the file (into the cache, or into scratch when the weight is larger than the cache).</summary>
    public long Misses { get; private set; }

    /// <summary>Weights dropped to make room.</summary>
    public long Evictions { get; private set; }

    /// <summary>Where the panels of <paramref name="weight"/> come from for the run about to start; lends it a buffer on a miss when it fits.</summary>
    public MappedMatrix.Source Acquire(MappedMatrix weight)
    {
        weight.LastUse = ++_clock;
        if (weight.Cached != null)
        {
            Hits++;
            return MappedMatrix.Source.Cached;
        }

        Misses++;
        long need = weight.PackedBytes;
        if (need > CapacityBytes || need == 0)
        {
            return MappedMatrix.Source.Scratch;
        }

        byte* buffer = null;
        while (UsedBytes + need > CapacityBytes)
        {
            var victim = LeastRecentlyUsed(weight);
            byte* freed = victim.Reclaim();
            UsedBytes -= victim.PackedBytes;
            Evictions++;
            if (buffer == null && victim.PackedBytes == need)
            {
                buffer = freed;
            }
            else
            {
                NativeMemory.AlignedFree(freed);
            }
        }

        if (buffer == null)
        {
            buffer = (byte*)NativeMemory.AlignedAlloc((nuint)need, 64);
        }

        weight.Lend(buffer);
        UsedBytes += need;
        return MappedMatrix.Source.Fill;
    }

    /// <summary>Takes back the buffer of a weight whose filling did not finish (its panels are not all packed).</summary>
    public void Discard(MappedMatrix weight)
    {
        if (weight.Cached != null)
        {
            NativeMemory.AlignedFree(weight.Reclaim());
            UsedBytes -= weight.PackedBytes;
        }
    }

    public void Dispose()
    {
        foreach (var w in _weights)
        {
            Discard(w);
        }
    }

    private MappedMatrix LeastRecentlyUsed(MappedMatrix except)
    {
        MappedMatrix? oldest = null;
        foreach (var w in _weights)
        {
            if (w.Cached != null && w != except && (oldest is null || w.LastUse < oldest.LastUse))
            {
                oldest = w;
            }
        }

        // Only reached while UsedBytes > CapacityBytes - need >= 0, so some other weight holds a buffer.
        return oldest ?? throw new InvalidOperationException("expert cache accounting: bytes in use but no weight holds them");
    }
}
