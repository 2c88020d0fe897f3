namespace Folio.Contracts;

/// <summary>
/// The Redis stream format of docs/contract.md section 2: entry types, field names and codes. Every value
/// written is a string; numbers are invariant-culture decimal text.
/// </summary>
public static class StreamFields
{
    public const string Type = "type";

    // start
    public const string Worker = "worker";
    public const string Attempt = "attempt";
    public const string PromptTokens = "prompt_tokens";
    public const string ResumeIndex = "resume_index";

    // token
    public const string Index = "index";
    public const string TokenId = "token_id";
    public const string Text = "text";
    public const string Logprob = "logprob";
    public const string TopLogprobs = "top_logprobs";

    // done
    public const string FinishReason = "finish_reason";
    public const string StopReason = "stop_reason";
    public const string CompletionTokens = "completion_tokens";
    public const string CachedTokens = "cached_tokens";
    public const string TtftMs = "ttft_ms";
    public const string TotalMs = "total_ms";

    // error
    public const string Code = "code";
    public const string Message = "message";
}

/// <summary>Values of the <c>type</c> field.</summary>
public static class EntryTypes
{
    public const string Start = "start";
    public const string Token = "token";
    public const string Done = "done";
    public const string Error = "error";

    /// <summary>Whether an entry of this type ends a stream.</summary>
    public static bool IsTerminal(string? type) => type is Done or Error;
}

/// <summary>Values of <c>done.finish_reason</c>.</summary>
public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string Abort = "abort";
}

/// <summary>Values of <c>done.stop_reason</c> that are not a stop string or token id.</summary>
public static class StopReasons
{
    /// <summary>finish_reason abort because deadline_ms passed while the request waited or ran.</summary>
    public const string Deadline = "deadline";
}

/// <summary>Values of <c>error.code</c>.</summary>
public static class ErrorCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string PromptTooLong = "prompt_too_long";
    public const string Unsupported = "unsupported";
    public const string Internal = "internal";

    /// <summary>Version 2: the request names a model this worker does not serve.</summary>
    public const string ModelNotFound = "model_not_found";

    /// <summary>Version 2: the request was taken after its deadline_ms.</summary>
    public const string DeadlineExceeded = "deadline_exceeded";

    /// <summary>Version 2: the publisher's bounded request queue refused the message (the SDK reports it; never in a stream).</summary>
    public const string QueueFull = "queue_full";
}

/// <summary>Names on the broker and in Redis that docs/contract.md fixes (their defaults; each is configurable).</summary>
public static class WireNames
{
    public const string RequestQueue = "folio.requests";
    public const string ErrorQueueSuffix = "_error";
    public const string CancelExchange = "folio.cancel";
    public const string StreamPrefix = "folio:stream:";
    public const int StreamTtlSeconds = 3600;

    /// <summary>Headers put on a message moved to the error queue.</summary>
    public const string ReasonHeader = "folio-error-reason";
    public const string ReasonCodeHeader = "folio-error-code";
    public const string RequestIdHeader = "folio-request-id";
}
