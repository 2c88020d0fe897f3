using Folio.Contracts;

namespace Folio.Engine.Sampling;

/// <summary>
/// Everything that decides how a request's tokens are chosen and when it stops. Defaults and ranges
/// come from the contract's single source (<see cref="RequestDefaults"/>, <see cref="RequestRules"/>):
/// <see cref="Validate"/> applies the same rules the parser does, so a caller that skips the
/// contract still gets the same clear error.
/// </summary>
public sealed record SamplingParams
{
    public int MaxTokens { get; init; } = RequestDefaults.MaxTokens;
    public int MinTokens { get; init; } = RequestDefaults.MinTokens;

    /// <summary>0 means greedy: argmax, lowest token id among ties.</summary>
    public double Temperature { get; init; } = RequestDefaults.Temperature;
    public double TopP { get; init; } = RequestDefaults.TopP;

    /// <summary>0 or -1: off.</summary>
    public int TopK { get; init; } = RequestDefaults.TopK;
    public double MinP { get; init; } = RequestDefaults.MinP;

    /// <summary>vLLM semantics: over prompt and output tokens, positive logits divided, negative multiplied.</summary>
    public double RepetitionPenalty { get; init; } = RequestDefaults.RepetitionPenalty;

    /// <summary>OpenAI semantics: over output tokens, subtracted once per distinct token.</summary>
    public double PresencePenalty { get; init; } = RequestDefaults.PresencePenalty;

    /// <summary>OpenAI semantics: over output tokens, subtracted once per occurrence.</summary>
    public double FrequencyPenalty { get; init; } = RequestDefaults.FrequencyPenalty;

    /// <summary>Null: the engine picks one at admission and reports it, so the run can still be reproduced.</summary>
    public long? Seed { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    public bool IgnoreEos { get; init; }
    public bool IncludeStopStrInOutput { get; init; }

    /// <summary>Null: no logprobs. 0-20: the sampled token's logprob plus this many top alternatives.</summary>
    public int? Logprobs { get; init; }

    public bool IsGreedy => Temperature < 1e-5;

    public void Validate()
    {
        RequestRules.MaxTokens.Check(MaxTokens);
        RequestRules.MinTokens.Check(MinTokens);
        RequestRules.Temperature.Check(Temperature);
        RequestRules.TopP.Check(TopP);
        RequestRules.TopK.Check(TopK);
        RequestRules.MinP.Check(MinP);
        RequestRules.RepetitionPenalty.Check(RepetitionPenalty);
        RequestRules.PresencePenalty.Check(PresencePenalty);
        RequestRules.FrequencyPenalty.Check(FrequencyPenalty);
        if (Logprobs is { } n)
        {
            RequestRules.Logprobs.Check(n);
        }

        RequestRules.StopCount.Check(Stop.Count);
        foreach (var s in Stop)
        {
            RequestRules.StopLength.Check(s.Length);
        }
    }
}
