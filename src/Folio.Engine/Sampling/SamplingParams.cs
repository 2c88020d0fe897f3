namespace Folio.Engine.Sampling;

/// <summary>
/// Everything that decides how a request's tokens are chosen and when it stops, with docs/contract.md's
/// defaults. Ranges are checked by the contract layer; <see cref="Validate"/> repeats the checks the
/// engine relies on so a caller that skips the contract still gets a clear error.
/// </summary>
public sealed record SamplingParams
{
    public int MaxTokens { get; init; } = 16;
    public int MinTokens { get; init; }

    /// <summary>0 means greedy: argmax, lowest token id among ties.</summary>
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;

    /// <summary>0 or -1: off.</summary>
    public int TopK { get; init; }
    public double MinP { get; init; }

    /// <summary>vLLM semantics: over prompt and output tokens, positive logits divided, negative multiplied.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>OpenAI semantics: over output tokens, subtracted once per distinct token.</summary>
    public double PresencePenalty { get; init; }

    /// <summary>OpenAI semantics: over output tokens, subtracted once per occurrence.</summary>
    public double FrequencyPenalty { get; init; }

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
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }

        Require(MaxTokens >= 1, $"max_tokens must be >= 1 (got {MaxTokens})");
        Require(MinTokens >= 0, $"min_tokens must be >= 0 (got {MinTokens})");
        Require(Temperature >= 0 && double.IsFinite(Temperature), $"temperature must be >= 0 (got {Temperature})");
        Require(TopP > 0 && TopP <= 1, $"top_p must be in (0, 1] (got {TopP})");
        Require(TopK >= -1, $"top_k must be 0 or -1 (off) or positive (got {TopK})");
        Require(MinP >= 0 && MinP <= 1, $"min_p must be in [0, 1] (got {MinP})");
        Require(RepetitionPenalty > 0 && double.IsFinite(RepetitionPenalty), $"repetition_penalty must be > 0 (got {RepetitionPenalty})");
        Require(PresencePenalty >= -2 && PresencePenalty <= 2, $"presence_penalty must be in [-2, 2] (got {PresencePenalty})");
        Require(FrequencyPenalty >= -2 && FrequencyPenalty <= 2, $"frequency_penalty must be in [-2, 2] (got {FrequencyPenalty})");
        Require(Logprobs is null or (>= 0 and <= 20), $"logprobs must be 0-20 (got {Logprobs})");
        Require(Stop.Count <= 16 && Stop.All(s => s.Length is >= 1 and <= 256), "stop: up to 16 strings of 1-256 characters");
    }
}
