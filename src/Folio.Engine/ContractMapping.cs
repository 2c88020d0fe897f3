using Folio.Contracts;
using Folio.Engine.Sampling;

namespace Folio.Engine;

/// <summary>
/// The one place where a contract request's fields become engine sampling parameters (CLI and worker
/// both use it). Parsing and range checks stay in Folio.Contracts; this is a field-for-field copy.
/// </summary>
public static class ContractMapping
{
    public static SamplingParams ToSamplingParams(this GenerationRequest r) => new()
    {
        MaxTokens = r.MaxTokens,
        MinTokens = r.MinTokens,
        Temperature = r.Temperature,
        TopP = r.TopP,
        TopK = r.TopK,
        MinP = r.MinP,
        RepetitionPenalty = r.RepetitionPenalty,
        PresencePenalty = r.PresencePenalty,
        FrequencyPenalty = r.FrequencyPenalty,
        Seed = r.Seed,
        Stop = r.Stop,
        StopTokenIds = r.StopTokenIds,
        IgnoreEos = r.IgnoreEos,
        IncludeStopStrInOutput = r.IncludeStopStrInOutput,
        Logprobs = r.Logprobs,
    };

    /// <summary>The contract's finish_reason text for an engine finish reason (prompt_too_long and internal are errors there).</summary>
    public static string ToContractString(this FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Abort => "abort",
        FinishReason.PromptTooLong => "prompt_too_long",
        _ => "internal",
    };
}
