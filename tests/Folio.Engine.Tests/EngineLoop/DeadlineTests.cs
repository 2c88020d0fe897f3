using System.Diagnostics;
using Folio.Contracts;
using Folio.Engine.Sampling;
using Folio.Testing;

namespace Folio.Engine.Tests.EngineLoop;

/// <summary>deadline_ms inside the engine: a request that passes its deadline, waiting or running, ends within one step with abort and stop reason "deadline".</summary>
public sealed class DeadlineTests
{
    private static readonly SamplingParams Long = new() { Temperature = 0, MaxTokens = 200, IgnoreEos = true };

    [Fact]
    public void Running_and_waiting_requests_that_pass_their_deadline_end_within_one_step()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 256, 16);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumSeqs = 1 }, sink);
        long soon = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        engine.AddRequest(EngineHarness.Request("running", [5, 6], Long) with { DeadlineTimestamp = soon });
        engine.AddRequest(EngineHarness.Request("waiting", [7, 8], Long) with { DeadlineTimestamp = soon });
        engine.AddRequest(EngineHarness.Request("no-deadline", [9], Long with { MaxTokens = 3 }));
        for (int i = 0; i < 5; i++)
        {
            engine.Step();
        }

        Assert.DoesNotContain(sink.Snapshot(), o => o.Finished);
        while (Stopwatch.GetTimestamp() < soon)
        {
            Thread.Sleep(20);
        }

        engine.Step();
        var ended = sink.Snapshot().Where(o => o.Finished).ToDictionary(o => o.Key);
        Assert.Equal(FinishReason.Abort, ended[EngineHarness.Key("running")].FinishReason);
        Assert.Equal(StopReasons.Deadline, ended[EngineHarness.Key("running")].StopReason);
        Assert.Equal(FinishReason.Abort, ended[EngineHarness.Key("waiting")].FinishReason);
        Assert.Equal(StopReasons.Deadline, ended[EngineHarness.Key("waiting")].StopReason);
        Assert.Equal(2, engine.Metrics.ExpiredRequests);
        engine.RunUntilIdle();
        var all = EngineHarness.Collect(sink.Snapshot());
        Assert.Equal(FinishReason.Length, all[EngineHarness.Key("no-deadline")].Reason);
        Assert.Equal(all[EngineHarness.Key("running")].ConcatenatedDeltas, all[EngineHarness.Key("running")].FinalText);
        engine.Kv.Pool.CheckConsistency(expectAllFree: true);
    }
}
