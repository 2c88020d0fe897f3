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
    /// A durable quorum queue. The broker's delivery limit sits one above the worker's own
    /// MaxDeliveries so that the worker sees the last delivery and writes the error entry itself;
    /// the dead-letter route to the error queue catches whatever the worker could not.
    /// x-consumer-timeout (ms) is honoured per queue from RabbitMQ 3.12; older brokers use
    /// consumer_timeout from rabbitmq.conf.
    /// </summary>
    public static Dictionary<string, object?> Build(string errorQueue, int maxDeliveries = DefaultMaxDeliveries, int consumerTimeoutSeconds = DefaultConsumerTimeoutSeconds, int quorumInitialGroupSize = 0)
    {
        var args = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["x-queue-type"] = "quorum",
            ["x-delivery-limit"] = maxDeliveries + 1,
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
