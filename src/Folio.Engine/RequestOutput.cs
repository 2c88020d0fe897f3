using Folio.Engine.Core;
using Folio.Engine.Sampling;

namespace Folio.Engine;

/// <summary>Why a request ended.</summary>
public enum FinishReason
{
    /// <summary>EOS, a stop token id or a stop string.</summary>
    Stop,

    /// <summary>max_tokens reached, the model's context is full, or the KV cache cannot hold the sequence.</summary>
    Length,

    /// <summary>Cancelled.</summary>
    Abort,

    /// <summary>The prompt can never fit (the model's context or the whole KV cache); nothing was generated.</summary>
    PromptTooLong,

    /// <summary>The engine failed while running it (an internal error); <see cref="RequestOutput.ErrorMessage"/> says what.</summary>
    Error,
}

/// <summary>Token counts of a request.</summary>
/// <param name="PromptTokens">Prompt length.</param>
/// <param name="CompletionTokens">Generated tokens, including those of an earlier run that this one resumed.</param>
/// <param name="CachedTokens">Prompt tokens whose KV came from the prefix cache at first admission.</param>
public readonly record struct RequestUsage(int PromptTokens, int CompletionTokens, int CachedTokens);

/// <summary>
/// What one engine step produced for one request: at most one new token with the text it releases
/// (possibly empty), and, on the last output, why the request finished. The text deltas of a
/// request concatenate to <see cref="Text"/> of its finished output. A struct: a step hands over one
/// array of these, not an object per token.
/// </summary>
public readonly record struct RequestOutput
{
    public required RequestKey Key { get; init; }

    /// <summary>The new token, or null for an output that only finishes the request.</summary>
    public int? TokenId { get; init; }

    /// <summary>Index of <see cref="TokenId"/> among the request's generated tokens (0-based, counting resumed ones).</summary>
    public int Index { get; init; }

    public string TextDelta { get; init; }

    /// <summary>When the request asked for logprobs: those of <see cref="TokenId"/> (raw model distribution).</summary>
    public SampledLogprobs? Logprobs { get; init; }

    public bool Finished => FinishReason is not null;

    public FinishReason? FinishReason { get; init; }

    /// <summary>The matched stop string, or the stop token id as decimal text; null for EOS and other reasons.</summary>
    public string? StopReason { get; init; }

    /// <summary>On the finished output: the full generated text (all deltas concatenated, including a resumed run's).</summary>
    public string? Text { get; init; }

    /// <summary>For PromptTooLong and Error: a message a user can act on.</summary>
    public string? ErrorMessage { get; init; }

    public RequestUsage Usage { get; init; }

    /// <summary>The seed the request ran with (chosen at admission when the request gave none).</summary>
    public long Seed { get; init; }

    /// <summary>Milliseconds from arrival to the first token this engine produced; null before it.</summary>
    public double? TimeToFirstTokenMs { get; init; }

    /// <summary>Milliseconds from arrival to this output.</summary>
    public double ElapsedMs { get; init; }
}
