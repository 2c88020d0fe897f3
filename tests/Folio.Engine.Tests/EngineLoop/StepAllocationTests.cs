using Folio.Engine.Sampling;
using Folio.Testing;

namespace Folio.Engine.Tests.EngineLoop;

/// <summary>
/// What one decode step allocates on the engine thread, with the budget written here: per step the
/// metrics snapshot and the output array's header; per token its RequestOutput in that array (a
/// struct, about 128 bytes: the one hand-off to the worker) and its text delta string. Measured
/// here: about 5.2 KB for 32 sequences. Nothing else may grow with the batch.
/// </summary>
public sealed class StepAllocationTests
{
    /// <summary>Per step: the metrics record and the output array's header.</summary>
    private const long StepBudgetBytes = 1024;

    /// <summary>Per generated token: its RequestOutput in the step's array and a short text delta.</summary>
    private const long TokenBudgetBytes = 160;

    [Fact]
    public void A_decode_step_of_32_sequences_stays_within_its_allocation_budget()
    {
        const int seqs = 32;
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 1024, 16);
        var sink = new CountingSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumSeqs = seqs }, sink);
        var p = new SamplingParams { Temperature = 0.8, Seed = 3, MaxTokens = 200, IgnoreEos = true };
        for (int i = 0; i < seqs; i++)
        {
            engine.AddRequest(EngineHarness.Request(i, [5, 6, 7 + i], p));
        }

        // Prefill and a few decode steps so every buffer has reached its size.
        for (int i = 0; i < 10; i++)
        {
            engine.Step();
        }

        sink.Tokens = 0;
        const int steps = 20;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++)
        {
            engine.Step();
        }

        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        Assert.Equal(seqs * steps, sink.Tokens);
        long budget = StepBudgetBytes + (seqs * TokenBudgetBytes);
        Assert.True(perStep <= budget, $"a decode step of {seqs} sequences allocated {perStep} bytes; the budget is {budget}");
    }

    /// <summary>Counts tokens and keeps nothing, so that only the engine's own allocations are measured.</summary>
    private sealed class CountingSink : IEngineOutputSink
    {
        public int Tokens { get; set; }

        public void OnStep(RequestOutput[] outputs)
        {
            foreach (var o in outputs)
            {
                if (o.TokenId is not null)
                {
                    Tokens++;
                }
            }
        }
    }
}
