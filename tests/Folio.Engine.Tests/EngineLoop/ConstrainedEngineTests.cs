using System.Text.Json;
using Folio.Engine.Constraints;
using Folio.Engine.Sampling;
using Folio.Testing;
using Folio.Text.Tokenization;

namespace Folio.Engine.Tests.EngineLoop;

/// <summary>
/// Constraints through the engine loop: the mask applies to every token of the sequence that asked
/// for it, outputs match, and the determinism guarantees hold for constrained requests alone, in
/// batches, under chunked prefill and preemption, and after a resume.
/// </summary>
public sealed class ConstrainedEngineTests
{
    private static readonly ITokenizer Gpt2 = TokenizerFactory.Gpt2();

    private static readonly string[] Choices = ["positive", "negative", "neutral"];

    private static CompiledConstraint Compile(ConstraintSpec spec) => ConstraintCompiler.Compile(spec, Gpt2);

    private static EngineRequest Constrained(string name, ConstraintSpec spec, long seed, int maxTokens = 48, int[]? resume = null) =>
        EngineHarness.Request(name, [464, 3290, 318, 257], new SamplingParams { Temperature = 1.0, Seed = seed, MaxTokens = maxTokens, Logprobs = 2 }, resume: resume) with { Constraint = Compile(spec) };

    private static Dictionary<Folio.Engine.Core.RequestKey, RunResult> Run(IEnumerable<EngineRequest> requests, EngineConfig? config = null, int blocks = 512, int blockSize = 16) =>
        EngineHarness.Run(requests, config, blocks, blockSize, tokenizer: Gpt2, runnerFactory: (b, s) => new FakeModelRunner(Gpt2.VocabSize, b, s) { Scale = 2f });

    private static IEnumerable<EngineRequest> Workload()
    {
        for (int i = 0; i < 18; i++)
        {
            yield return (i % 3) switch
            {
                0 => Constrained($"choice-{i}", ConstraintSpec.Choice(Choices), i),
                1 => Constrained($"regex-{i}", ConstraintSpec.Regex("[0-9]{3}-[a-z]{2,4}"), i),
                _ => EngineHarness.Request($"free-{i}", [464, 3290 + i], new SamplingParams { Temperature = 0.9, Seed = i, MaxTokens = 20, Logprobs = 2 }),
            };
        }
    }

    [Fact]
    public void Choice_and_regex_outputs_always_match_through_the_engine()
    {
        var results = Run(Workload());
        for (int i = 0; i < 18; i += 3)
        {
            var choice = results[EngineHarness.Key($"choice-{i}")];
            Assert.Equal(FinishReason.Stop, choice.Reason);
            Assert.Contains(choice.FinalText, Choices);
            var regex = results[EngineHarness.Key($"regex-{i + 1}")];
            Assert.Equal(FinishReason.Stop, regex.Reason);
            Assert.Matches("^[0-9]{3}-[a-z]{2,4}$", regex.FinalText);
        }
    }

    [Fact]
    public void A_json_object_output_that_stops_parses_and_one_cut_by_length_is_a_prefix_of_json()
    {
        var results = Run(Enumerable.Range(0, 6).Select(i => Constrained($"json-{i}", ConstraintSpec.JsonObject(), 100 + i, maxTokens: 64)));
        foreach (var r in results.Values)
        {
            Assert.StartsWith("{", r.FinalText, StringComparison.Ordinal);
            if (r.Reason == FinishReason.Stop)
            {
                using var doc = JsonDocument.Parse(r.FinalText);
                Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            }
            else
            {
                Assert.Equal(FinishReason.Length, r.Reason);
            }
        }
    }

    [Fact]
    public void Constrained_requests_in_a_batch_of_18_equal_themselves_alone_bitwise()
    {
        var workload = Workload().ToList();
        var batch = Run(workload, new EngineConfig { MaxNumSeqs = 18 });
        foreach (var r in workload)
        {
            var alone = Run([r])[r.Key];
            alone.AssertSameGeneration(batch[r.Key]);
            Assert.Equal(alone.FinalText, batch[r.Key].FinalText);
        }
    }

    [Fact]
    public void Chunked_prefill_and_preemption_change_no_constrained_token()
    {
        var workload = Workload().ToList();
        var reference = Run(workload, new EngineConfig { MaxNumSeqs = 18 });
        var tight = Run(workload, new EngineConfig { MaxNumSeqs = 18, MaxNumBatchedTokens = 8 }, blocks: 12, blockSize: 4);
        foreach (var r in workload)
        {
            reference[r.Key].AssertSameGeneration(tight[r.Key]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void A_resumed_constrained_request_continues_exactly_as_the_uninterrupted_run(int k)
    {
        var spec = ConstraintSpec.Regex("[0-9]{3}-[a-z]{2,4}");
        var full = Run([Constrained("r", spec, 7)])[EngineHarness.Key("r")];
        Assert.True(full.Tokens.Length > k);
        var resumed = Run([Constrained("r", spec, 7, resume: full.Tokens[..k])])[EngineHarness.Key("r")];
        full.AssertSameGeneration(resumed, skip: k);
        Assert.Equal(full.FinalText, resumed.FinalText);
    }

    [Fact]
    public void Resume_tokens_that_do_not_follow_the_constraint_end_the_request_with_an_error()
    {
        var bad = Gpt2.Encode("hello", addSpecialTokens: false);
        var r = Run([Constrained("r", ConstraintSpec.Regex("[0-9]+"), 1, resume: bad)])[EngineHarness.Key("r")];
        Assert.Equal(FinishReason.Error, r.Reason);
    }
}
