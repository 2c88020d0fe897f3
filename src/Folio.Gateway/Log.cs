using Microsoft.Extensions.Logging;

namespace Folio.Gateway;

/// <summary>
/// Every log line of the gateway. None carries an API key, a prompt, a message or generated text:
/// requests are named by their id, callers by their key's configured name.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Gateway listening on {Url}; queue {Queue}")]
    public static partial void Listening(ILogger log, string url, string queue);

    [LoggerMessage(2, LogLevel.Information, "{RequestId} ({Kind}, key {Caller}) {Outcome}: {PromptTokens} prompt + {CompletionTokens} completion tokens in {Ms:F0} ms")]
    public static partial void Served(ILogger log, string requestId, string kind, string caller, string outcome, int promptTokens, int completionTokens, double ms);

    [LoggerMessage(3, LogLevel.Information, "Refused a {Kind} request (key {Caller}): {Status} {Code}")]
    public static partial void Refused(ILogger log, string kind, string caller, int status, string code);

    [LoggerMessage(4, LogLevel.Information, "{RequestId}: the client went away; cancel published")]
    public static partial void ClientGone(ILogger log, string requestId);

    [LoggerMessage(5, LogLevel.Information, "{RequestId}: deadline passed; cancel published")]
    public static partial void DeadlinePassed(ILogger log, string requestId);

    [LoggerMessage(6, LogLevel.Information, "{RequestId}: gateway stopping; the request keeps running and another gateway can serve its stream (Folio-Request-Id)")]
    public static partial void LeftRunning(ILogger log, string requestId);

    [LoggerMessage(7, LogLevel.Warning, "Publishing failed ({Reason}); answering 503")]
    public static partial void PublishFailed(ILogger log, string reason);

    [LoggerMessage(8, LogLevel.Warning, "Cancel for {RequestId} could not be published: {Reason}")]
    public static partial void CancelFailed(ILogger log, string requestId, string reason);

    [LoggerMessage(9, LogLevel.Warning, "RabbitMQ or Redis unreachable at start (attempt {Attempt}): {Reason}; check Folio:RabbitMq:Uri and Folio:Redis:Configuration")]
    public static partial void ConnectFailed(ILogger log, int attempt, string reason);

    [LoggerMessage(10, LogLevel.Error, "Unexpected failure serving {Path}")]
    public static partial void Unexpected(ILogger log, string path, Exception e);

    [LoggerMessage(11, LogLevel.Debug, "{RequestId}: attached to the stream of an earlier publish (Folio-Request-Id), from index {AfterIndex}")]
    public static partial void Attached(ILogger log, string requestId, int afterIndex);

    [LoggerMessage(12, LogLevel.Warning, "API keys are off (Folio:Gateway:AllowAnonymous=true): anyone who reaches {Urls} may use the gateway")]
    public static partial void Anonymous(ILogger log, string urls);

    [LoggerMessage(13, LogLevel.Information, "File {FileId} stored (key {Caller}): {Bytes} bytes")]
    public static partial void FileStored(ILogger log, string fileId, string caller, long bytes);

    [LoggerMessage(14, LogLevel.Information, "Batch {BatchId} created (key {Caller}): {Published} requests published, {AlreadySubmitted} already submitted before, {Invalid} invalid lines")]
    public static partial void BatchCreated(ILogger log, string batchId, string caller, int published, int alreadySubmitted, int invalid);

    [LoggerMessage(15, LogLevel.Information, "Batch {BatchId} (key {Caller}) exists: the same file was sent before; nothing is published again")]
    public static partial void BatchExists(ILogger log, string batchId, string caller);

    [LoggerMessage(16, LogLevel.Information, "Batch {BatchId} (key {Caller}) cancelling: {Cancelled} cancels published")]
    public static partial void BatchCancelled(ILogger log, string batchId, string caller, int cancelled);

    [LoggerMessage(17, LogLevel.Information, "Batch {BatchId} {Status}: {Completed} completed, {Failed} failed; results collected into its files")]
    public static partial void BatchEnded(ILogger log, string batchId, string status, long completed, long failed);
}
