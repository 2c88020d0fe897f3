namespace Folio.Client;

/// <summary>
/// The broker refused a request: the request queue is bounded (<c>x-max-length</c> with
/// <c>x-overflow: reject-publish</c>) and full. Nothing was queued and no stream will come; retry
/// later (with backoff), or raise the queue's bound, or add workers. docs/contract.md section 6.3
/// names this <c>queue_full</c>.
/// </summary>
public sealed class QueueFullException(string queue, Exception inner)
    : Exception($"the request queue '{queue}' is full (the broker rejected the message): retry later, add workers, or raise the queue's x-max-length", inner)
{
    /// <summary>The contract's error code for this case.</summary>
    public const string Code = "queue_full";

    public string Queue { get; } = queue;
}

/// <summary>
/// The broker returned a request as unroutable: no queue named like the client's RequestQueue
/// exists (no worker declared it and the client was told not to). Nothing was queued.
/// </summary>
public sealed class RequestNotRoutedException(string queue, Exception inner)
    : Exception($"no queue '{queue}' took the request (returned as unroutable): start a worker, or let the client declare it (FolioClientOptions.DeclareQueue)", inner)
{
    public string Queue { get; } = queue;
}
