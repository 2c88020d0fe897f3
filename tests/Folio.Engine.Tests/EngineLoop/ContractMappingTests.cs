using Folio.Contracts;
using Folio.Engine;

namespace Folio.Engine.Tests.EngineLoop;

public sealed class ContractMappingTests
{
    [Fact]
    public void Every_contract_sampling_field_reaches_the_engine()
    {
        var r = new GenerationRequest
        {
            RequestId = "x",
            PromptTokenIds = [1],
            MaxTokens = 7,
            MinTokens = 2,
            Temperature = 0.3,
            TopP = 0.4,
            TopK = 5,
            MinP = 0.06,
            RepetitionPenalty = 1.7,
            PresencePenalty = -0.8,
            FrequencyPenalty = 0.9,
            Seed = -12,
            Stop = ["a", "bc"],
            StopTokenIds = [3, 4],
            IgnoreEos = true,
            IncludeStopStrInOutput = true,
            Logprobs = 11,
        };
        var p = r.ToSamplingParams();
        Assert.Equal(
            (7, 2, 0.3, 0.4, 5, 0.06, 1.7, -0.8, 0.9, (long?)-12, "a|bc", "3|4", true, true, (int?)11),
            (p.MaxTokens, p.MinTokens, p.Temperature, p.TopP, p.TopK, p.MinP, p.RepetitionPenalty, p.PresencePenalty, p.FrequencyPenalty, p.Seed,
                string.Join("|", p.Stop), string.Join("|", p.StopTokenIds), p.IgnoreEos, p.IncludeStopStrInOutput, p.Logprobs));
    }

    [Fact]
    public void Contract_defaults_are_the_engine_defaults()
    {
        var p = new GenerationRequest { RequestId = "x", Prompt = "hi" }.ToSamplingParams();
        Assert.Equal(new Folio.Engine.Sampling.SamplingParams() with { Stop = p.Stop, StopTokenIds = p.StopTokenIds }, p);
        Assert.Empty(p.Stop);
        Assert.Empty(p.StopTokenIds);
    }

    [Theory]
    [InlineData(FinishReason.Stop, "stop")]
    [InlineData(FinishReason.Length, "length")]
    [InlineData(FinishReason.Abort, "abort")]
    [InlineData(FinishReason.PromptTooLong, "prompt_too_long")]
    [InlineData(FinishReason.Error, "internal")]
    public void Finish_reasons_use_the_contract_words(FinishReason reason, string text) => Assert.Equal(text, reason.ToContractString());
}
