using System.Diagnostics;

namespace Folio.Cpu.Tests.Bench;

/// <summary>
/// The team as it was at c504054, frozen for <see cref="TeamBench"/>: units claimed from one shared
/// counter in guided chunks (a share of what is left), every claim and every finished chunk an atomic
/// operation on the same shared words. Not used by the runner.
/// </summary>
internal sealed class TeamBaseline : IDisposable
{
    private const int Closed = int.MaxValue;
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms of spinning before sleeping
    private const int TightPolls = 4096; // about half a millisecond of Thread.SpinWait(4)

    private readonly Thread[] _workers;
    private readonly object _sleepLock = new();
    private IParallelWork? _work;
    private int _units;
    private int _chunk;
    private long _claim = Closed;
    private int _done;
    private int _generation;
    private int _sleepers;
    private volatile bool _disposed;
    private Exception? _failure;

    public TeamBaseline(int threadCount)
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

    /// <summary>
    /// Runs units [0, <paramref name="units"/>) of <paramref name="work"/> on the team in chunks of at
    /// least <paramref name="chunk"/> units (larger while much is left) and returns when all are done.
    /// </summary>
    public void Run(IParallelWork work, int units, int chunk)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        chunk = Math.Max(1, chunk);
        if (_workers.Length == 0 || units <= chunk)
        {
            if (units > 0)
            {
                work.Execute(0, units, 0);
            }

            return;
        }

        _work = work;
        _units = units;
        _chunk = chunk;
        Volatile.Write(ref _done, 0);
        int generation = ++_generation;
        Interlocked.Exchange(ref _claim, (long)generation << 32);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_sleepLock)
            {
                Monitor.PulseAll(_sleepLock);
            }
        }

        ClaimAndRun(0);

        // Poll the others' last chunks at a steady short interval first: SpinWait's backoff doubles
        // its pause each turn, so after a few turns the caller noticed the end of an op microseconds
        // late, and a decode step is a hundred ops of tens of microseconds. Past about half a
        // millisecond (a worker descheduled on a shared machine) it backs off and yields as before.
        var spin = default(SpinWait);
        int polls = 0;
        while (Volatile.Read(ref _done) != units)
        {
            if (++polls < TightPolls)
            {
                Thread.SpinWait(4);
                continue;
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }

        Interlocked.Exchange(ref _claim, ((long)generation << 32) | Closed);
        _work = null;
        var failure = Interlocked.Exchange(ref _failure, null);
        if (failure is not null)
        {
            throw new InvalidOperationException("a CPU kernel failed: " + failure.Message, failure);
        }
    }

    private void ClaimAndRun(int threadIndex)
    {
        while (true)
        {
            long c = Volatile.Read(ref _claim);
            int next = (int)(c & 0xFFFFFFFF);
            int units = Volatile.Read(ref _units);
            int chunk = Volatile.Read(ref _chunk);
            var work = Volatile.Read(ref _work);
            if (next >= units || work is null)
            {
                return;
            }

            // Guided claims: a share of what is left (half of an even split), never under the chunk,
            // so the first claims are large and the last ones small: a thread that finishes early
            // waits at most one small chunk for the others instead of one of a fixed quarter.
            int take = Math.Max(chunk, (units - next) / (2 * ThreadCount));
            if (Interlocked.CompareExchange(ref _claim, c + take, c) != c)
            {
                continue;
            }

            // The claim succeeded while this generation was open, so the fields read above are its own.
            int end = Math.Min(next + take, units);
            try
            {
                work.Execute(next, end, threadIndex);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
            finally
            {
                Interlocked.Add(ref _done, end - next);
            }
        }
    }

    private int OpenGeneration() => (int)(Volatile.Read(ref _claim) >> 32);

    private void WorkerLoop(int index)
    {
        int seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            while (OpenGeneration() == seen && !_disposed)
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
                    while (OpenGeneration() == seen && !_disposed)
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

            seen = OpenGeneration();
            ClaimAndRun(index);
        }
    }

    /// <summary>A chunk size giving each thread about <paramref name="chunksPerThread"/> chunks of <paramref name="units"/>.</summary>
    public int ChunkFor(int units, int chunksPerThread = 4) => Math.Max(1, units / (ThreadCount * chunksPerThread));

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
