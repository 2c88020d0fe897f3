using System.Diagnostics;

namespace Folio.Cpu;

/// <summary>One parallel operation over units 0..N-1; the team hands out contiguous ranges.</summary>
public interface IParallelWork
{
    /// <summary>Processes units [start, limit). <paramref name="threadIndex"/> selects per-thread scratch.</summary>
    void Execute(int start, int limit, int threadIndex);
}

/// <summary>
/// A persistent team of threads that run one <see cref="IParallelWork"/> at a time, the calling
/// thread taking part as thread 0. Which thread computes a unit never changes its value: a unit is
/// always computed whole, by the same code.
///
/// Each operation's units are cut into one contiguous segment per thread. A thread claims its own
/// segment front to back, a chunk at a time, so that its claims follow one another through memory
/// (a GEMM's thread streams its weights as one run, and the prefetch each tile issues past its
/// panel's end lands on the panel the thread computes next); a thread whose segment is empty steals
/// the back half of the fullest other segment and makes it its own. So a thread the OS deschedules
/// (the machine may be shared) never holds up the others beyond the chunk it is on, and the caller
/// never waits for a worker that has not started: its segment is taken over.
///
/// Dispatch allocates nothing. The generation word (high 32 bits: the operation's generation; low:
/// open or closed) is published after the operation's fields and segments are written, and every
/// segment word carries its operation's generation beside its bounds, so a claim (a compare-and-swap
/// of the whole word) succeeds only on a segment of the generation the claimant saw open: a late
/// worker can never run units of an operation with another operation's fields.
/// </summary>
public sealed class CpuThreadTeam : IDisposable
{
    private const int Closed = int.MaxValue;
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms of spinning before sleeping
    private const int TightPolls = 4096; // about half a millisecond of Thread.SpinWait(4)

    /// <summary>A segment's bounds are 16-bit: larger operations are handed out in slices of several units.</summary>
    private const int MaxSlices = ushort.MaxValue;

    /// <summary>Longs between segment words: one cache line each, so owners claim without sharing a line (the array has one stride more, so the last word's line is its own too).</summary>
    private const int SegmentStride = 8;

    private readonly Thread[] _workers;
    private readonly object _sleepLock = new();
    private readonly long[] _segments;
    private IParallelWork? _work;
    private int _units;
    private int _chunk;
    private int _sliceUnits;
    private long _claim = Closed;
    private int _done;
    private int _generation;
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
        _segments = new long[(threadCount + 1) * SegmentStride];
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
    /// Runs units [0, <paramref name="units"/>) of <paramref name="work"/> on the team and returns
    /// when all are done. A thread's claims take half of what is left of its segment, never under
    /// <paramref name="chunk"/> units (but for a segment's last few); it runs at once on the calling
    /// thread when <paramref name="units"/> is at most <paramref name="chunk"/>.
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

        int sliceUnits = (units + MaxSlices - 1) / MaxSlices;
        int slices = (units + sliceUnits - 1) / sliceUnits;
        _work = work;
        _units = units;
        _chunk = Math.Max(1, chunk / sliceUnits);
        _sliceUnits = sliceUnits;
        Volatile.Write(ref _done, 0);
        int generation = ++_generation;
        for (int t = 0; t < ThreadCount; t++)
        {
            Volatile.Write(ref _segments[t * SegmentStride], Segment(generation, (int)((long)slices * t / ThreadCount), (int)((long)slices * (t + 1) / ThreadCount)));
        }

        // Publishing the generation (a full fence) makes the fields and segments above visible first.
        Interlocked.Exchange(ref _claim, (long)generation << 32);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_sleepLock)
            {
                Monitor.PulseAll(_sleepLock);
            }
        }

        ClaimAndRun(0, generation);

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

    private static long Segment(int generation, int next, int end) => ((long)generation << 32) | ((long)next << 16) | (uint)end;

    private static int GenerationOf(long segment) => (int)(segment >> 32);

    private static int NextOf(long segment) => (int)((segment >> 16) & 0xFFFF);

    private static int EndOf(long segment) => (int)(segment & 0xFFFF);

    /// <summary>Claims and runs chunks of the thread's own segment, then steals, until no segment of <paramref name="generation"/> has units left.</summary>
    private void ClaimAndRun(int threadIndex, int generation)
    {
        // Read after the generation was seen open; a claim below succeeds only while every segment
        // still carries that generation, so these are the operation's own fields.
        var work = Volatile.Read(ref _work);
        int units = Volatile.Read(ref _units);
        int chunk = Volatile.Read(ref _chunk);
        int sliceUnits = Volatile.Read(ref _sliceUnits);
        if (work is null)
        {
            return;
        }

        // Units done are counted by each thread and added to the shared count once, on the way out:
        // an atomic add per claim would move the counter's cache line between the cores at every claim.
        Interlocked.Add(ref _done, ClaimOwnAndStolen(threadIndex, generation, work, units, chunk, sliceUnits));
    }

    /// <summary>The claiming loop of <see cref="ClaimAndRun"/>; returns how many units this thread ran (a kernel's failure is recorded, its units still count).</summary>
    private int ClaimOwnAndStolen(int threadIndex, int generation, IParallelWork work, int units, int chunk, int sliceUnits)
    {
        ref long own = ref _segments[threadIndex * SegmentStride];
        int done = 0;
        while (true)
        {
            long s = Volatile.Read(ref own);
            if (GenerationOf(s) != generation)
            {
                return done;
            }

            int next = NextOf(s), end = EndOf(s);
            if (next >= end)
            {
                if (!Steal(threadIndex, generation))
                {
                    return done;
                }

                continue;
            }

            // Half of what is left, never under the chunk: few claims while much is left (each is a
            // call of the work, and a GEMM's restarts its prefetching), small ones at the end, so a
            // thread waits at most one small chunk for the others.
            int take = Math.Min(Math.Max(chunk, (end - next) / 2), end - next);
            if (Interlocked.CompareExchange(ref own, Segment(generation, next + take, end), s) != s)
            {
                continue; // a thief took the back of the segment meanwhile
            }

            int first = next * sliceUnits;
            int limit = Math.Min((next + take) * sliceUnits, units);
            try
            {
                work.Execute(first, limit, threadIndex);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }

            done += limit - first;
        }
    }

    /// <summary>
    /// Moves the back half of the fullest other segment (at least one slice) into this thread's
    /// empty segment; false when no segment of <paramref name="generation"/> has a slice left.
    /// </summary>
    private bool Steal(int threadIndex, int generation)
    {
        while (true)
        {
            int victim = -1, most = 0;
            long seen = 0;
            for (int t = 0; t < ThreadCount; t++)
            {
                long s = Volatile.Read(ref _segments[t * SegmentStride]);
                int left = EndOf(s) - NextOf(s);
                if (t != threadIndex && GenerationOf(s) == generation && left > most)
                {
                    (victim, most, seen) = (t, left, s);
                }
            }

            if (victim < 0)
            {
                return false;
            }

            int end = EndOf(seen);
            int take = (most + 1) / 2;
            if (Interlocked.CompareExchange(ref _segments[victim * SegmentStride], Segment(generation, NextOf(seen), end - take), seen) != seen)
            {
                continue;
            }

            // Nobody claims from an empty segment, so this thread's own word is its alone to refill.
            Volatile.Write(ref _segments[threadIndex * SegmentStride], Segment(generation, end - take, end));
            return true;
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

            long claim = Volatile.Read(ref _claim);
            seen = (int)(claim >> 32);
            if ((int)claim != Closed)
            {
                ClaimAndRun(index, seen);
            }
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
