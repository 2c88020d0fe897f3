using Folio.Worker.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Folio.Worker.Intake;

/// <summary>
/// Declares what CONTRACT.md promises exists: the request queue (durable quorum queue with a
/// bounded delivery count, dead-lettering to the error queue as a backstop), an exchange of the same
/// name bound to it, the error queue, and the cancel fanout exchange. A publisher may declare the
/// request queue first with <see cref="RequestQueueArguments"/>.
/// </summary>
public static class QueueTopology
{
    /// <summary>
    /// The request queue's arguments. The broker's delivery limit sits one above the worker's own
    /// MaxDeliveries so that the worker sees the last delivery and writes the error entry itself;
    /// the dead-letter route catches anything the worker could not (e.g. it died on that delivery too).
    /// </summary>
    /// <remarks>
    /// x-consumer-timeout (milliseconds) is honoured per queue from RabbitMQ 3.12; older brokers
    /// ignore it and use consumer_timeout from rabbitmq.conf (docs/operations.md says to raise it).
    /// </remarks>
    public static Dictionary<string, object?> RequestQueueArguments(string errorQueue, int maxDeliveries, int quorumInitialGroupSize, int consumerTimeoutSeconds)
    {
        var args = new Dictionary<string, object?>
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

    /// <summary>Declares everything; returns false when the request queue existed with other arguments (it is then used as it is).</summary>
    internal static async Task<bool> DeclareAsync(IConnection connection, RabbitMqOptions o, CancellationToken ct)
    {
        bool argumentsMatched = true;
        await using (var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            await ch.QueueDeclareAsync(o.ErrorQueueName, durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: ct).ConfigureAwait(false);
            await ch.ExchangeDeclareAsync(o.CancelExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
        }

        try
        {
            await using var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
            await ch.QueueDeclareAsync(o.RequestQueue, durable: true, exclusive: false, autoDelete: false,
                arguments: RequestQueueArguments(o.ErrorQueueName, o.MaxDeliveries, o.QuorumInitialGroupSize, o.ConsumerTimeoutSeconds), cancellationToken: ct).ConfigureAwait(false);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            // PRECONDITION_FAILED: declared earlier with other arguments. It exists, so use it.
            argumentsMatched = false;
        }

        await using (var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            await ch.ExchangeDeclareAsync(o.RequestQueue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
            await ch.QueueBindAsync(o.RequestQueue, o.RequestQueue, routingKey: string.Empty, cancellationToken: ct).ConfigureAwait(false);
        }

        return argumentsMatched;
    }
}
