namespace Folio.Contracts;

/// <summary>
/// The arguments the request queues are declared with. Workers declare them at start; a publisher
/// that starts first may declare them with exactly these (RabbitMQ refuses a second declaration with
/// other arguments: see <see cref="QueueDeclareMismatch"/>).
/// </summary>
public static class RequestQueueArguments
{
    public const int DefaultMaxDeliveries = 5;
    public const int DefaultConsumerTimeoutSeconds = 3600;

    /// <summary>What a bounded queue does when full: refuse the publish (the publisher's confirm is a nack), never drop queued work.</summary>
    public const string Overflow = "reject-publish";

    /// <summary>
    /// The error queue: a quorum queue too, since a classic queue lives on one node of a cluster and
    /// while that node is down nothing could be dead-lettered into it.
    /// </summary>
    public static Dictionary<string, object?> ErrorQueue(int quorumInitialGroupSize = 0)
    {
        var args = new Dictionary<string, object?>(StringComparer.Ordinal) { ["x-queue-type"] = "quorum" };
        if (quorumInitialGroupSize > 0)
        {
            args["x-quorum-initial-group-size"] = quorumInitialGroupSize;
        }

        return args;
    }

    /// <summary>
    /// A durable quorum queue. The worker counts how often a request was started (in Redis) and
    /// answers one started MaxDeliveries times with an error entry itself. The broker counts every
    /// delivery, also of messages merely prefetched by a worker that crashed, so its limit is only a
    /// backstop well above that (4 x MaxDeliveries, at least 20), dead-lettering to the error queue.
    /// x-consumer-timeout (ms) is honoured per queue from RabbitMQ 3.12; older brokers use
    /// consumer_timeout from rabbitmq.conf. A bound (<paramref name="maxLength"/> messages or
    /// <paramref name="maxLengthBytes"/> bytes of bodies, 0 = none) adds x-overflow reject-publish.
    /// </summary>
    public static Dictionary<string, object?> Build(string errorQueue, int maxDeliveries = DefaultMaxDeliveries, int consumerTimeoutSeconds = DefaultConsumerTimeoutSeconds, int quorumInitialGroupSize = 0, long maxLength = 0, long maxLengthBytes = 0)
    {
        var args = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["x-queue-type"] = "quorum",
            ["x-delivery-limit"] = Math.Max(20, maxDeliveries * 4),
            ["x-dead-letter-exchange"] = string.Empty,
            ["x-dead-letter-routing-key"] = errorQueue,
            ["x-consumer-timeout"] = consumerTimeoutSeconds * 1000L,
        };
        if (quorumInitialGroupSize > 0)
        {
            args["x-quorum-initial-group-size"] = quorumInitialGroupSize;
        }

        if (maxLength > 0)
        {
            args["x-max-length"] = maxLength;
        }

        if (maxLengthBytes > 0)
        {
            args["x-max-length-bytes"] = maxLengthBytes;
        }

        if (maxLength > 0 || maxLengthBytes > 0)
        {
            args["x-overflow"] = Overflow;
        }

        return args;
    }
}
