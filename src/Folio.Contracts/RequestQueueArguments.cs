namespace Folio.Contracts;

/// <summary>
/// The arguments the request queue is declared with. Workers declare it at start; a publisher that
/// starts first may declare it with exactly these (RabbitMQ refuses a second declaration with other
/// arguments).
/// </summary>
public static class RequestQueueArguments
{
    public const int DefaultMaxDeliveries = 5;
    public const int DefaultConsumerTimeoutSeconds = 3600;

    /// <summary>
    /// A durable quorum queue. The worker counts how often a request was started (in Redis) and
    /// answers one started MaxDeliveries times with an error entry itself. The broker counts every
    /// delivery, also of messages merely prefetched by a worker that crashed, so its limit is only a
    /// backstop well above that (4 x MaxDeliveries, at least 20), dead-lettering to the error queue.
    /// x-consumer-timeout (ms) is honoured per queue from RabbitMQ 3.12; older brokers use
    /// consumer_timeout from rabbitmq.conf.
    /// </summary>
    public static Dictionary<string, object?> Build(string errorQueue, int maxDeliveries = DefaultMaxDeliveries, int consumerTimeoutSeconds = DefaultConsumerTimeoutSeconds, int quorumInitialGroupSize = 0)
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

        return args;
    }
}
