using System.Runtime.InteropServices;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// Measures the read bandwidth again right beside a timed round, with the access pattern that won
/// in <see cref="MachineLimits"/>. On a shared virtual machine the bandwidth moves by tens of percent
/// from minute to minute (neighbours come and go), so a share computed against one figure taken at
/// the start can read above 100% or far below what the kernel really reached; against the figure
/// of the same round it says how close the round came to what the machine gave at that moment.
/// </summary>
internal sealed unsafe class BandwidthProbe : IDisposable
{
    // As large as MachineLimits' buffer: this host's last-level cache is not reported and may be
    // hundreds of MB (a 512 MiB probe once read 122 GB/s in a round where 1 GiB read 75).
    private const long BufferBytes = 1L << 30;

    private readonly int _threads;
    private readonly MachineLimits.ReadKernel _kernel;
    private byte* _buffer;

    public BandwidthProbe(MachineLimits limits)
    {
        _threads = limits.Threads;
        _kernel = MachineLimits.ReadKernelFor(limits.ReadMethod);
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)BufferBytes, 4096);
        NativeMemory.Fill(_buffer, (nuint)BufferBytes, 1);
    }

    /// <summary>GB/s now: the best of three passes over the buffer.</summary>
    public double Measure()
    {
        ObjectDisposedException.ThrowIf(_buffer == null, this);
        double best = 0;
        for (int i = 0; i < 3; i++)
        {
            best = Math.Max(best, MachineLimits.ReadBandwidth(_threads, _buffer, BufferBytes, _kernel));
        }

        return best;
    }

    public void Dispose()
    {
        if (_buffer != null)
        {
            NativeMemory.AlignedFree(_buffer);
            _buffer = null;
        }
    }
}
