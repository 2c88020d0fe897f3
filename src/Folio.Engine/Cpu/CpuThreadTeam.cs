using System.Diagnostics;

namespace Folio.Engine.Cpu;

/// <summary>One parallel operation: every thread of the team calls it once with its index.</summary>
public interface IParallelWork
{
    void Execute(int threadIndex, int threadCount);
}

/// <summary>
/// A persistent team of threads that run one <see cref="IParallelWork"/> at a time, the calling
/// thread taking part as thread 0. Dispatch allocates nothing: work objects are preallocated by the
/// caller and a generation counter wakes the workers. Workers spin briefly between operations (a
/// forward pass issues hundreds back to back) and then sleep, so an idle engine costs no CPU.
/// </summary>
public sealed class CpuThreadTeam : IDisposable
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms of spinning before sleeping

    private readonly Thread[] _workers;
    private readonly object _sleepLock = new();
    private IParallelWork? _work;
    private int _generation;
    private int _pending;
    private int _sleepers;
    private volatile bool _disposed;
    private Exception? _failure;

    public CpuThreadTeam(int threadCount)
    {
        if (threadCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threadCount), threadCount, "the thread count must be at least 1");
        }

        ThreadCount = threadCount;
        _workers = new Thread[threadCount - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"folio-cpu-{index}" };
            _workers[i].Start();
        }
    }

    public int ThreadCount { get; }

    /// <summary>Runs <paramref name="work"/> on every thread and returns when all have finished.</summary>
    public void Run(IParallelWork work)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_workers.Length == 0)
        {
            work.Execute(0, 1);
            return;
        }

        _work = work;
        Volatile.Write(ref _pending, _workers.Length);
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_sleepLock)
            {
                Monitor.PulseAll(_sleepLock);
            }
        }

        Exception? mine = null;
        try
        {
            work.Execute(0, ThreadCount);
        }
        catch (Exception e)
        {
            mine = e;
        }

        var spin = default(SpinWait);
        while (Volatile.Read(ref _pending) != 0)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        _work = null;
        var failure = Interlocked.Exchange(ref _failure, null) ?? mine;
        if (failure is not null)
        {
            throw new InvalidOperationException("a CPU kernel failed: " + failure.Message, failure);
        }
    }

    private void WorkerLoop(int index)
    {
        int seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _generation) == seen && !_disposed)
            {
                if (Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    Thread.SpinWait(8);
                    continue;
                }

                // Announce the sleep before the final check (a full fence each side), so Run either
                // sees a sleeper and pulses or this thread sees the new generation.
                lock (_sleepLock)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen && !_disposed)
                    {
                        Monitor.Wait(_sleepLock);
                    }

                    Interlocked.Decrement(ref _sleepers);
                }
            }

            if (_disposed)
            {
                return;
            }

            seen = Volatile.Read(ref _generation);
            try
            {
                _work!.Execute(index, ThreadCount);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    /// <summary>The half-open range [start, end) of <paramref name="units"/> that thread <paramref name="index"/> of <paramref name="count"/> owns.</summary>
    public static (int Start, int End) Partition(int units, int index, int count) =>
        ((int)((long)units * index / count), (int)((long)units * (index + 1) / count));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_sleepLock)
        {
            Monitor.PulseAll(_sleepLock);
        }

        foreach (var t in _workers)
        {
            t.Join();
        }
    }
}
