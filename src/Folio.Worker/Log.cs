using Microsoft.Extensions.Logging;

namespace Folio.Worker;

/// <summary>
/// Every log line of the worker, in one place. No line carries a credential or any text a user sent
/// (prompt, stop strings, message bodies, an invalid request_id): reasons name the field, the
/// position and the rule. Valid request ids are logged: their charset is fixed by the contract, they
/// name streams and operators need them.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Worker {Worker} starting: model {Model}, RabbitMQ {Amqp}, Redis {Redis}, queue {Queue}")]
    public static partial void Starting(ILogger log, string worker, string model, string amqp, string redis, string queue);

    [LoggerMessage(2, LogLevel.Information, "Worker {Worker} started; prefetch {Prefetch}")]
    public static partial void Started(ILogger log, string worker, int prefetch);

    [LoggerMessage(3, LogLevel.Warning, "Using a request queue as it is: {Fix}")]
    public static partial void QueueArgumentsDiffer(ILogger log, string fix);

    [LoggerMessage(4, LogLevel.Warning, "RabbitMQ connection lost: {Reason}; recovering")]
    public static partial void RabbitConnectionLost(ILogger log, string reason);

    [LoggerMessage(5, LogLevel.Information, "RabbitMQ connection recovered")]
    public static partial void RabbitRecovered(ILogger log);

    [LoggerMessage(6, LogLevel.Warning, "RabbitMQ at {Endpoint} unreachable (attempt {Attempt}): {Reason}; check Folio:RabbitMq:Uri")]
    public static partial void RabbitUnreachable(ILogger log, string endpoint, int attempt, string reason);

    [LoggerMessage(7, LogLevel.Warning, "Consume channel closed; {Orphaned} requests keep running here until the broker redelivers them (to this worker: they continue; elsewhere: they stop)")]
    public static partial void ConsumeChannelClosed(ILogger log, int orphaned);

    [LoggerMessage(8, LogLevel.Warning, "Supervision step failed: {Reason}")]
    public static partial void SuperviseFailed(ILogger log, string reason);

    [LoggerMessage(9, LogLevel.Information, "Draining: {InFlight} requests in flight, up to {Seconds} s")]
    public static partial void Draining(ILogger log, int inFlight, int seconds);

    [LoggerMessage(10, LogLevel.Information, "Drained")]
    public static partial void Drained(ILogger log);

    [LoggerMessage(11, LogLevel.Warning, "Handed {Count} unfinished requests back to the queue")]
    public static partial void HandedBack(ILogger log, int count);

    [LoggerMessage(12, LogLevel.Warning, "Redis write failed ({Reason}); output kept")]
    public static partial void RedisWriteFailed(ILogger log, string reason);

    [LoggerMessage(13, LogLevel.Information, "Consuming {Queue}")]
    public static partial void Consuming(ILogger log, string queue);

    [LoggerMessage(14, LogLevel.Information, "Paused consuming: engine full ({Running} running, {Waiting} waiting)")]
    public static partial void Paused(ILogger log, int running, int waiting);

    [LoggerMessage(15, LogLevel.Warning, "Message {Tag} has no usable request_id; moved to the error queue ({Code}): {Reason}")]
    public static partial void DeadLettering(ILogger log, ulong tag, string code, string reason);

    [LoggerMessage(16, LogLevel.Warning, "Request {RequestId} started {Starts} times without finishing; answered with an error and moved to the error queue")]
    public static partial void Poison(ILogger log, string requestId, int starts);

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

    [LoggerMessage(46, LogLevel.Information, "HTTP endpoint off (Folio:Worker:HttpPort = -1): no port is opened")]
    public static partial void NotListening(ILogger log);

    [LoggerMessage(35, LogLevel.Error, "The request parser failed ({Type}); the message is answered as unparsable")]
    public static partial void ParserFailed(ILogger log, string type);

    [LoggerMessage(36, LogLevel.Warning, "Request {RequestId}: the tokenizer failed on its prompt ({Type})")]
    public static partial void TokenizeFailed(ILogger log, string requestId, string type);

    [LoggerMessage(37, LogLevel.Warning, "Paused consuming while Redis refuses writes; requests held here wait, nothing is requeued")]
    public static partial void PausedForRedis(ILogger log);

    [LoggerMessage(38, LogLevel.Error, "{Condition}. Intake paused, output kept in memory and retried with backoff; not ready until it passes")]
    public static partial void RedisFailing(ILogger log, string condition);

    [LoggerMessage(39, LogLevel.Error, "Still failing after {Seconds:0} s ({Waiting} operations waiting): {Condition}")]
    public static partial void RedisStillFailing(ILogger log, double seconds, long waiting, string condition);

    [LoggerMessage(40, LogLevel.Information, "Redis accepts writes again after {Seconds:0.0} s")]
    public static partial void RedisRecovered(ILogger log, double seconds);

    [LoggerMessage(41, LogLevel.Warning, "Request {RequestId}: Redis holds tokens up to {Next} but this worker wrote up to {Written} (writes lost in a failover?); rewriting them from memory")]
    public static partial void StreamBehind(ILogger log, string requestId, int next, int written);

    [LoggerMessage(42, LogLevel.Warning, "Request {RequestId}: Redis lost its stream state (restart without persistence?); rewriting {Written} tokens from memory")]
    public static partial void StreamLost(ILogger log, string requestId, int written);

    [LoggerMessage(43, LogLevel.Warning, "Request {RequestId}: its delivery was lost and did not come back here within {Seconds} s; stopped (another worker resumes it)")]
    public static partial void OrphanDropped(ILogger log, string requestId, int seconds);

    [LoggerMessage(44, LogLevel.Information, "Request {RequestId} attempt {Attempt}: redelivered to this worker, which still runs it; continuing at token {Index} without recompute")]
    public static partial void Reattached(ILogger log, string requestId, int attempt, int index);

    [LoggerMessage(45, LogLevel.Error, "Request {RequestId}: Redis refuses writes to its stream keys ({RedisError}); handed back, intake answers it")]
    public static partial void StreamKeyUnusable(ILogger log, string requestId, string redisError);

    [LoggerMessage(47, LogLevel.Debug, "Queue {Queue}: the broker gave no figures for /metrics this time ({Reason})")]
    public static partial void QueueProbeFailed(ILogger log, string queue, string reason);
}
