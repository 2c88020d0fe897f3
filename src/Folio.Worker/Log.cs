using Microsoft.Extensions.Logging;

namespace Folio.Worker;

/// <summary>
/// Every log line of the worker, in one place. No line carries a credential or a prompt; request
/// ids are fine (they name streams and carry no user data by contract).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Worker {Worker} starting: model {Model}, RabbitMQ {Amqp}, Redis {Redis}, queue {Queue}")]
    public static partial void Starting(ILogger log, string worker, string model, string amqp, string redis, string queue);

    [LoggerMessage(2, LogLevel.Information, "Worker {Worker} started; prefetch {Prefetch}")]
    public static partial void Started(ILogger log, string worker, int prefetch);

    [LoggerMessage(3, LogLevel.Warning, "Queue {Queue} already exists with other arguments; using it as it is (check Folio:RabbitMq:MaxDeliveries and the publisher's declaration)")]
    public static partial void QueueArgumentsDiffer(ILogger log, string queue);

    [LoggerMessage(4, LogLevel.Warning, "RabbitMQ connection lost: {Reason}; recovering")]
    public static partial void RabbitConnectionLost(ILogger log, string reason);

    [LoggerMessage(5, LogLevel.Information, "RabbitMQ connection recovered")]
    public static partial void RabbitRecovered(ILogger log);

    [LoggerMessage(6, LogLevel.Warning, "RabbitMQ at {Endpoint} unreachable (attempt {Attempt}): {Reason}; check Folio:RabbitMq:Uri")]
    public static partial void RabbitUnreachable(ILogger log, string endpoint, int attempt, string reason);

    [LoggerMessage(7, LogLevel.Warning, "Consume channel closed ({Code} {Reason}); {Orphaned} in-flight requests handed to the broker's redelivery")]
    public static partial void ConsumeChannelClosed(ILogger log, ushort code, string reason, int orphaned);

    [LoggerMessage(8, LogLevel.Warning, "Supervision step failed: {Reason}")]
    public static partial void SuperviseFailed(ILogger log, string reason);

    [LoggerMessage(9, LogLevel.Information, "Draining: {InFlight} requests in flight, up to {Seconds} s")]
    public static partial void Draining(ILogger log, int inFlight, int seconds);

    [LoggerMessage(10, LogLevel.Information, "Drained")]
    public static partial void Drained(ILogger log);

    [LoggerMessage(11, LogLevel.Warning, "Handed {Count} unfinished requests back to the queue")]
    public static partial void HandedBack(ILogger log, int count);

    [LoggerMessage(12, LogLevel.Warning, "Redis write failed: {Reason}; output kept and retried")]
    public static partial void RedisWriteFailed(ILogger log, string reason);

    [LoggerMessage(13, LogLevel.Information, "Consuming {Queue}")]
    public static partial void Consuming(ILogger log, string queue);

    [LoggerMessage(14, LogLevel.Information, "Paused consuming: engine full ({Running} running, {Waiting} waiting)")]
    public static partial void Paused(ILogger log, int running, int waiting);

    [LoggerMessage(15, LogLevel.Warning, "Message {Tag} has no usable request_id; moved to the error queue: {Reason}")]
    public static partial void DeadLettering(ILogger log, ulong tag, string reason);

    [LoggerMessage(16, LogLevel.Warning, "Request {RequestId} delivered {Attempt} times; answered with an error and moved to the error queue")]
    public static partial void Poison(ILogger log, string requestId, int attempt);

    [LoggerMessage(17, LogLevel.Error, "Intake failed for request {RequestId}")]
    public static partial void IntakeFailed(ILogger log, string requestId, Exception e);

    [LoggerMessage(18, LogLevel.Information, "Request {RequestId} already finished; acknowledged without work")]
    public static partial void AlreadyFinished(ILogger log, string requestId);

    [LoggerMessage(19, LogLevel.Information, "Request {RequestId} attempt {Attempt}: resuming at token {ResumeIndex}")]
    public static partial void Resuming(ILogger log, string requestId, int attempt, int resumeIndex);

    [LoggerMessage(20, LogLevel.Debug, "Request {RequestId} attempt {Attempt} taken, {PromptTokens} prompt tokens")]
    public static partial void Taken(ILogger log, string requestId, int attempt, int promptTokens);

    [LoggerMessage(21, LogLevel.Information, "Request {RequestId} rejected ({Code}): {Reason}")]
    public static partial void Rejected(ILogger log, string requestId, string code, string reason);

    [LoggerMessage(22, LogLevel.Warning, "Ack/nack of delivery {Tag} failed: {Reason}")]
    public static partial void AckFailed(ILogger log, ulong tag, string reason);

    [LoggerMessage(23, LogLevel.Warning, "Redis unavailable (attempt {Attempt}): {Reason}; waiting")]
    public static partial void RedisUnavailable(ILogger log, int attempt, string reason);

    [LoggerMessage(24, LogLevel.Error, "Output pump step failed")]
    public static partial void PumpFailed(ILogger log, Exception e);

    [LoggerMessage(25, LogLevel.Warning, "Request {RequestId}: another delivery took it over; this one stops writing")]
    public static partial void Fenced(ILogger log, string requestId);

    [LoggerMessage(26, LogLevel.Error, "Request {RequestId}: index gap at {Index}; handed back for a clean resume")]
    public static partial void IndexGap(ILogger log, string requestId, int index);

    [LoggerMessage(27, LogLevel.Information, "Request {RequestId} failed with {Code}")]
    public static partial void FinishedWithError(ILogger log, string requestId, string code);

    [LoggerMessage(28, LogLevel.Debug, "Request {RequestId} finished: {Reason}, {Tokens} tokens")]
    public static partial void Finished(ILogger log, string requestId, string reason, int tokens);

    [LoggerMessage(29, LogLevel.Warning, "Cancel message without a usable request_id ignored")]
    public static partial void BadCancel(ILogger log);

    [LoggerMessage(30, LogLevel.Information, "Cancel for {RequestId} (held here: {Local})")]
    public static partial void CancelReceived(ILogger log, string requestId, bool local);

    [LoggerMessage(31, LogLevel.Critical, "Worker failed to start: {Reason}")]
    public static partial void StartFailed(ILogger log, string reason);

    [LoggerMessage(32, LogLevel.Information, "Loading model {Model}")]
    public static partial void LoadingModel(ILogger log, string model);

    [LoggerMessage(34, LogLevel.Information, "Backend {Backend} (Folio:Engine:Backend = auto): {Reason}")]
    public static partial void BackendChosen(ILogger log, string backend, string reason);

    [LoggerMessage(33, LogLevel.Information, "HTTP endpoint (/metrics, /healthz, /readyz) on {Url}")]
    public static partial void Listening(ILogger log, string url);
}
