using Folio.Engine.Cpu;

namespace Folio.Engine.Tests.Cpu;

public sealed class CpuThreadTeamTests
{
    private sealed class RecordingWork(int threads) : IParallelWork
    {
        public readonly int[] Calls = new int[threads];
        public int? ThrowOn;

        public void Execute(int threadIndex, int threadCount)
        {
            Assert.Equal(Calls.Length, threadCount);
            Interlocked.Increment(ref Calls[threadIndex]);
            if (ThrowOn == threadIndex)
            {
                throw new InvalidDataException("boom on " + threadIndex);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryThreadRunsEachOperationExactlyOnce(int threads)
    {
        using var team = new CpuThreadTeam(threads);
        var work = new RecordingWork(threads);
        for (int i = 0; i < 200; i++)
        {
            team.Run(work);
        }

        Assert.All(work.Calls, c => Assert.Equal(200, c));
    }

    [Fact]
    public void AWorkerThatSleptBetweenOperationsIsWokenForTheNext()
    {
        using var team = new CpuThreadTeam(2);
        var work = new RecordingWork(2);
        team.Run(work);
        Thread.Sleep(50); // past the spin window: the worker is now blocked in Monitor.Wait
        team.Run(work);
        Assert.Equal([2, 2], work.Calls);
    }

    [Fact]
    public void AFailureOnAWorkerSurfacesOnTheCallerAndTheTeamStaysUsable()
    {
        using var team = new CpuThreadTeam(2);
        var work = new RecordingWork(2) { ThrowOn = 1 };
        var e = Assert.Throws<InvalidOperationException>(() => team.Run(work));
        Assert.IsType<InvalidDataException>(e.InnerException);
        work.ThrowOn = null;
        team.Run(work);
        Assert.Equal([2, 2], work.Calls);
    }

    [Fact]
    public void PartitionCoversEveryUnitOnceInOrder()
    {
        for (int units = 0; units < 20; units++)
        {
            for (int count = 1; count <= 4; count++)
            {
                int next = 0;
                for (int i = 0; i < count; i++)
                {
                    var (start, end) = CpuThreadTeam.Partition(units, i, count);
                    Assert.Equal(next, start);
                    next = end;
                }

                Assert.Equal(units, next);
            }
        }
    }
}
