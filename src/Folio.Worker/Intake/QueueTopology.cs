using Folio.Worker.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Folio.Worker.Intake;

/// <summary>
/// Declares what docs/contract.md promises exists: the request queue (durable quorum queue with a
/// bounded delivery count, dead-lettering to the error queue as a backstop), an exchange of the same
/// name bound to it, the error queue, and the cancel fanout exchange. A publisher may declare the
/// request queue first with <see cref="Contracts.RequestQueueArguments"/>.
/// </summary>
internal static class QueueTopology
{
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
                arguments: Contracts.RequestQueueArguments.Build(o.ErrorQueueName, o.MaxDeliveries, o.ConsumerTimeoutSeconds, o.QuorumInitialGroupSize), cancellationToken: ct).ConfigureAwait(false);
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
