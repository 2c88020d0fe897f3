namespace Folio.Client;

/// <summary>
/// The broker refused a request: the request queue is bounded (<c>x-max-length</c> with
/// <c>x-overflow: reject-publish</c>) and full. Nothing was queued and no stream will come; retry
/// later (with backoff), or raise the queue's bound, or add workers. docs/contract.md section 6.3
/// names this <c>queue_full</c>.
/// </summary>
public sealed class QueueFullException(string queue, Exception inner)
    : Exception($"queue_full: the request queue '{queue}' is full (the broker refused the message; nothing was queued and no stream will come): retry later with backoff, add workers, or raise the bound (Folio:RabbitMq:MaxLength / MaxLengthBytes, then recreate the queue)", inner)
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

/// <summary>
/// The model exchange returned a request as unroutable: no worker has bound a queue for the model
/// the request names (docs/contract.md, "Several models on one broker"). Nothing was queued. The
/// publisher's side of the contract's <c>model_not_found</c>.
/// </summary>
public sealed class ModelNotRoutedException(string exchange, string model, Exception inner)
    : Exception($"model_not_found: no worker serves the model '{model}' behind the exchange '{exchange}' (the broker returned the request as unroutable; nothing was queued): check the model name, or start a worker whose Folio:Model:Name or Aliases has it", inner)
{
    /// <summary>The contract's error code for this case.</summary>
    public const string Code = "model_not_found";

    public string Exchange { get; } = exchange;

    public string Model { get; } = model;
}

/// <summary>
/// A request queue exists with a bound other than the client's (RabbitMQ refused the declaration
/// with PRECONDITION_FAILED). The message names the option to change.
/// </summary>
public sealed class QueueDeclarationException(string message, Exception inner) : InvalidOperationException(message, inner);
