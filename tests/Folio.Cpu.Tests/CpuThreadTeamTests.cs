using Folio.Cpu;

namespace Folio.Cpu.Tests;

public sealed class CpuThreadTeamTests
{
    private sealed class RecordingWork(int units, int threads) : IParallelWork
    {
        public readonly int[] Calls = new int[units];
        public readonly int[] PerThread = new int[threads];
        public int? ThrowOnUnit;
        public bool Slow;

        public void Execute(int start, int end, int threadIndex)
        {
            Interlocked.Increment(ref PerThread[threadIndex]);
            for (int u = start; u < end; u++)
            {
                Interlocked.Increment(ref Calls[u]);
                if (Slow)
                {
                    Thread.Sleep(1);
                }
                if (ThrowOnUnit == u)
                {
                    throw new InvalidDataException("boom on " + u);
                }
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    public void Every_unit_runs_exactly_once_per_operation(int threads, int chunk)
    {
        using var team = new CpuThreadTeam(threads);
        var work = new RecordingWork(37, threads);
        for (int i = 0; i < 300; i++)
        {
            team.Run(work, 37, chunk);
        }

        Assert.All(work.Calls, c => Assert.Equal(300, c));
    }

    [Fact]
    public void A_worker_that_slept_between_operations_is_woken_for_the_next()
    {
        using var team = new CpuThreadTeam(2);
        var work = new RecordingWork(64, 2) { Slow = true };
        team.Run(work, 64, 1);
        Thread.Sleep(50); // past the spin window: the worker is now blocked in Monitor.Wait
        Array.Clear(work.PerThread);
        team.Run(work, 64, 1);

        // 64 units of 1 ms each: a woken worker takes some of them.
        Assert.True(work.PerThread[1] > 0, "the worker thread never took a unit");
        Assert.All(work.Calls, c => Assert.Equal(2, c));
    }

    [Fact]
    public void A_failure_surfaces_on_the_caller_and_the_team_stays_usable()
    {
        using var team = new CpuThreadTeam(2);
        var work = new RecordingWork(16, 2) { ThrowOnUnit = 9 };
        var e = Assert.Throws<InvalidOperationException>(() => team.Run(work, 16, 1));
        Assert.IsType<InvalidDataException>(e.InnerException);

        // The failed claim's later units never ran; the next operation runs every unit.
        work.ThrowOnUnit = null;
        Array.Clear(work.Calls);
        team.Run(work, 16, 1);
        Assert.All(work.Calls, c => Assert.Equal(1, c));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(2, 5000)]
    [InlineData(3, 1)]
    [InlineData(3, 777)]
    public void Operations_past_the_segment_bounds_still_run_every_unit_once(int threads, int chunk)
    {
        // More units than a segment's 16-bit bounds hold: handed out in slices of several units.
        const int Units = 200_003;
        using var team = new CpuThreadTeam(threads);
        var work = new RecordingWork(Units, threads);
        for (int i = 0; i < 3; i++)
        {
            team.Run(work, Units, chunk);
        }

        Assert.All(work.Calls, c => Assert.Equal(3, c));
    }

    /// <summary>Records each thread's claims in order; each thread's first claim waits until <see cref="Release"/> says so.</summary>
    private sealed class ClaimLog : IParallelWork
    {
        public readonly List<(int Start, int End)>[] Claims = [[], []];
        private readonly int[] _started = new int[2];
        public int Executed;

        /// <summary>(thread, units in its first claim) → whether that first claim may finish.</summary>
        public Func<int, int, bool> Release = (_, _) => true;

        public bool Started(int thread) => Volatile.Read(ref _started[thread]) == 1;

        public void Execute(int start, int end, int threadIndex)
        {
            bool first;
            lock (Claims)
            {
                first = Claims[threadIndex].Count == 0;
                Claims[threadIndex].Add((start, end));
            }

            if (first)
            {
                Volatile.Write(ref _started[threadIndex], 1);
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (!Release(threadIndex, end - start) && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(1);
                }
            }

            Interlocked.Add(ref Executed, end - start);
        }
    }

    [Fact]
    public void Each_thread_starts_on_its_own_segment_and_claims_half_of_it()
    {
        using var team = new CpuThreadTeam(2);
        var log = new ClaimLog();

        // Each thread's first claim waits for the other's, so neither can have taken the other's segment first.
        log.Release = (thread, _) => log.Started(1 - thread);
        team.Run(log, 64, 1);

        Assert.Equal((0, 16), log.Claims[0][0]);
        Assert.Equal((32, 48), log.Claims[1][0]);
        var all = log.Claims.SelectMany(c => c).SelectMany(c => Enumerable.Range(c.Start, c.End - c.Start)).Order();
        Assert.Equal(Enumerable.Range(0, 64), all);
    }

    [Fact]
    public void A_stalled_threads_unclaimed_units_are_taken_over()
    {
        using var team = new CpuThreadTeam(2);
        var log = new ClaimLog();

        // The caller waits for the worker's first claim; the worker then stalls in it until everything
        // else is done, so the caller must have taken the rest of the worker's segment.
        log.Release = (thread, size) => thread == 0 ? log.Started(1) : Volatile.Read(ref log.Executed) == 64 - size;
        team.Run(log, 64, 1);

        var workerClaim = Assert.Single(log.Claims[1]);
        Assert.Equal((32, 48), workerClaim);
        var byCaller = log.Claims[0].SelectMany(c => Enumerable.Range(c.Start, c.End - c.Start)).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 64).Where(u => u < workerClaim.Start || u >= workerClaim.End), byCaller);
    }
}
