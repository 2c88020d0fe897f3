namespace Folio.Contracts;

/// <summary>
/// One request as docs/contract.md section 1 defines it, after parsing: every optional field already
/// carries its default. Model-dependent rules (vocabulary, context, caps) are checked later by
/// <see cref="RequestLimits"/>-aware validation, because the parser knows nothing of the model.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>1-128 chars of A-Z a-z 0-9 . _ : -; names the output stream.</summary>
    public required string RequestId { get; init; }

    /// <summary>The prompt text; exactly one of this and <see cref="PromptTokenIds"/> is set.</summary>
    public string? Prompt { get; init; }

    /// <summary>Pre-tokenized prompt; exactly one of this and <see cref="Prompt"/> is set.</summary>
    public IReadOnlyList<int>? PromptTokenIds { get; init; }

    public int MaxTokens { get; init; } = RequestDefaults.MaxTokens;

    public int MinTokens { get; init; } = RequestDefaults.MinTokens;

    public double Temperature { get; init; } = RequestDefaults.Temperature;

    public double TopP { get; init; } = RequestDefaults.TopP;

    /// <summary>0 or -1 means off.</summary>
    public int TopK { get; init; } = RequestDefaults.TopK;

    public double MinP { get; init; } = RequestDefaults.MinP;

    public double RepetitionPenalty { get; init; } = RequestDefaults.RepetitionPenalty;

    public double PresencePenalty { get; init; } = RequestDefaults.PresencePenalty;

    public double FrequencyPenalty { get; init; } = RequestDefaults.FrequencyPenalty;

    /// <summary>Null when the request gave none (the worker then derives one from the request id).</summary>
    public long? Seed { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    public bool IgnoreEos { get; init; }

    public bool IncludeStopStrInOutput { get; init; }

    /// <summary>Null: no logprobs. 0-20: the sampled token's logprob plus this many alternatives.</summary>
    public int? Logprobs { get; init; }

    /// <summary>Lower is served earlier within a worker (vLLM's convention).</summary>
    public int Priority { get; init; } = RequestDefaults.Priority;

    /// <summary>Version 2, section 6.1: a chat request (then <see cref="Prompt"/> and <see cref="PromptTokenIds"/> are null).</summary>
    public ChatRequest? Chat { get; init; }

    /// <summary>Version 2, section 6.3: the model the publisher wants; a worker serving another answers model_not_found.</summary>
    public string? Model { get; init; }

    /// <summary>Version 2, section 6.3: Unix time in milliseconds (UTC) after which nobody waits for the answer.</summary>
    public long? DeadlineMs { get; init; }

    /// <summary>Version 2, section 6.3: the batch this request counts towards (same charset as request_id).</summary>
    public string? BatchId { get; init; }

    /// <summary>Version 2, section 6.3: the publisher's id for this request within its batch.</summary>
    public string? CustomId { get; init; }

    /// <summary>Version 2, section 6.2: the output constraint (response_format or structured_outputs); null for free text.</summary>
    public OutputConstraint? Constraint { get; init; }
}

/// <summary>The defaults of docs/contract.md section 1, in one place so docs, parser and tests agree.</summary>
public static class RequestDefaults
{
    public const int MaxTokens = 16;
    public const int MinTokens = 0;
    public const double Temperature = 1.0;
    public const double TopP = 1.0;
    public const int TopK = 0;
    public const double MinP = 0.0;
    public const double RepetitionPenalty = 1.0;
    public const double PresencePenalty = 0.0;
    public const double FrequencyPenalty = 0.0;
    public const int Priority = 0;

    public const int MaxRequestIdLength = 128;
    public const int MaxStopStrings = 16;
    public const int MaxStopStringLength = 256;
    public const int MaxLogprobs = 20;
}
