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
        work.ThrowOnUnit = null;
        team.Run(work, 16, 1);
        Assert.All(work.Calls, c => Assert.Equal(2, c));
    }
}
