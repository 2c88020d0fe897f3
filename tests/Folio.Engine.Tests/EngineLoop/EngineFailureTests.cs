using Folio.Engine.Execution;
using Folio.Engine.Sampling;
using Folio.Testing;
using Microsoft.Extensions.Logging;

namespace Folio.Engine.Tests.EngineLoop;

/// <summary>Runner limits reach the engine, and a failure costs only the requests it concerns, logged once with its stack trace.</summary>
public sealed class EngineFailureTests
{
    private static readonly SamplingParams Greedy = new() { Temperature = 0, MaxTokens = 8, IgnoreEos = true };

    [Fact]
    public void The_runners_context_limit_caps_every_request_and_an_over_long_prompt_gets_prompt_too_long()
    {
        // The model says 4096 positions, the runner was built for 64: the engine must use 64, not
        // hand the runner a longer sequence (which would fail every request in its step).
        var r = EngineHarness.Run(
            [
                EngineHarness.Request("long", [.. Enumerable.Repeat(5, 64)], Greedy),
                EngineHarness.Request("grows", [5, 6], Greedy with { MaxTokens = 500 }),
                EngineHarness.Request("ok", [5, 6], Greedy),
            ],
            maxPositions: 4096,
            runnerFactory: (blocks, size) => new FakeModelRunner(EngineHarness.Vocab, blocks, size, 4096) { Limits = new RunnerLimits(64, int.MaxValue, int.MaxValue) });
        Assert.Equal(FinishReason.PromptTooLong, r[EngineHarness.Key("long")].Reason);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("grows")].Reason);
        Assert.Equal(62, r[EngineHarness.Key("grows")].Tokens.Length);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("ok")].Reason);
        Assert.Equal(8, r[EngineHarness.Key("ok")].Tokens.Length);
    }

    [Fact]
    public void The_configured_max_model_len_caps_below_the_model_and_the_runner()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 64, 16, 4096) { Limits = new RunnerLimits(1000, int.MaxValue, int.MaxValue) };
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxModelLen = 100 }, new CollectingOutputSink());
        Assert.Equal(100, engine.MaxModelLen);
    }

    [Fact]
    public void Options_the_runner_was_not_built_for_are_refused_naming_them()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 64, 16) { Limits = new RunnerLimits(4096, 8, 512) };
        var e = Assert.Throws<ArgumentException>(() => new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumSeqs = 64 }, new CollectingOutputSink()));
        Assert.Contains("max_num_seqs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sequence_the_runner_refuses_fails_alone_and_the_others_finish()
    {
        var log = new CapturingLogger();
        var r = EngineHarness.Run(
            [
                EngineHarness.Request("bad", [99, 5], Greedy),
                EngineHarness.Request("good-1", [5, 6], Greedy),
                EngineHarness.Request("good-2", [7, 8, 9], Greedy),
            ],
            runnerFactory: (blocks, size) => new FakeModelRunner(EngineHarness.Vocab, blocks, size)
            {
                FailWith = (batch, _) =>
                {
                    for (int s = 0; s < batch.NumSeqs; s++)
                    {
                        if (batch.Positions[batch.QueryStart[s]] == 0 && batch.TokenIds[batch.QueryStart[s]] == 99)
                        {
                            return new SequenceFailedException(s, "this sequence cannot run here");
                        }
                    }

                    return null;
                },
            },
            log: log);
        Assert.Equal(FinishReason.Error, r[EngineHarness.Key("bad")].Reason);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("good-1")].Reason);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("good-2")].Reason);
        var error = Assert.Single(log.Entries, e => e.Level == LogLevel.Error);
        Assert.IsType<SequenceFailedException>(error.Exception);
    }

    [Fact]
    public void A_forward_failure_ends_the_sequences_of_that_step_only_and_is_logged_once_with_its_stack()
    {
        var log = new CapturingLogger();
        bool failed = false;
        var r = EngineHarness.Run(
            [EngineHarness.Request("running", [5, 6], Greedy), EngineHarness.Request("waiting", [7, 8], Greedy)],
            new EngineConfig { MaxNumSeqs = 1 },
            runnerFactory: (blocks, size) => new FakeModelRunner(EngineHarness.Vocab, blocks, size)
            {
                FailWith = (_, calls) =>
                {
                    if (calls != 3 || failed)
                    {
                        return null;
                    }

                    failed = true;
                    return new InvalidOperationException("device fault");
                },
            },
            log: log);
        Assert.Equal(FinishReason.Error, r[EngineHarness.Key("running")].Reason);
        Assert.Equal(3, r[EngineHarness.Key("running")].Tokens.Length);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("waiting")].Reason);
        Assert.Equal(8, r[EngineHarness.Key("waiting")].Tokens.Length);
        var error = Assert.Single(log.Entries, e => e.Level == LogLevel.Error);
        Assert.Equal("device fault", error.Exception!.Message);
        Assert.NotNull(error.Exception.StackTrace);
    }
}
