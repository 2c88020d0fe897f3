using Folio.Contracts;
using Folio.Worker.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Folio.Worker.Intake;

/// <summary>
/// Declares what docs/contract.md promises exists: the request queues (one, or one per priority tier
/// plus the plain one; durable quorum queues with a bounded delivery count, dead-lettering to the
/// error queue as a backstop, optionally bounded with reject-publish), an exchange named like the
/// plain queue bound to it, the error queue, the cancel fanout exchange, and, when configured, the
/// model exchange with this worker's model names bound to its queues. A publisher may declare the
/// request queues first with <see cref="RequestQueueArguments"/>.
/// </summary>
internal static class QueueTopology
{
    /// <summary>Declares everything; returns, per queue that existed with other arguments, what to change (it is then used as it is).</summary>
    internal static async Task<IReadOnlyList<string>> DeclareAsync(IConnection connection, RabbitMqOptions o, IReadOnlyList<string> modelNames, CancellationToken ct)
    {
        var mismatches = new List<string>();
        // The error queue is a quorum queue like the request queues: a classic queue lives on one node
        // of a cluster, and while that node is down nothing could be dead-lettered (and every
        // redeclare fails with NOT_FOUND). One an older Folio declared classic is used as it is.
        await DeclareQueueAsync(connection, o.ErrorQueueName, RequestQueueArguments.ErrorQueue(o.QuorumInitialGroupSize), mismatches, ct).ConfigureAwait(false);
        await using (var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            await ch.ExchangeDeclareAsync(o.CancelExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
        }

        var arguments = RequestQueueArguments.Build(o.ErrorQueueName, o.MaxDeliveries, o.ConsumerTimeoutSeconds, o.QuorumInitialGroupSize, o.MaxLength, o.MaxLengthBytes);
        foreach (var (queue, _) in o.TierQueues())
        {
            await DeclareQueueAsync(connection, queue, arguments, mismatches, ct).ConfigureAwait(false);
        }

        await using (var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            await ch.ExchangeDeclareAsync(o.RequestQueue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
            await ch.QueueBindAsync(o.RequestQueue, o.RequestQueue, routingKey: string.Empty, cancellationToken: ct).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(o.ModelExchange))
            {
                await BindModelsAsync(ch, o, modelNames, ct).ConfigureAwait(false);
            }
        }

        return mismatches;
    }

    /// <summary>
    /// Declares a durable queue on a channel of its own (a refused declaration closes its channel).
    /// PRECONDITION_FAILED means it was declared earlier with other arguments: it exists, so it is
    /// used as it is and <paramref name="mismatches"/> gets what to change.
    /// </summary>
    private static async Task DeclareQueueAsync(IConnection connection, string queue, Dictionary<string, object?> arguments, List<string> mismatches, CancellationToken ct)
    {
        try
        {
            await using var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
            await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            mismatches.Add(QueueDeclareMismatch.Explain(queue, e.ShutdownReason.ReplyText, RabbitMqOptions.SettingOf));
        }
    }

    /// <summary>
    /// Several models on one broker: the direct model exchange routes a request by its model name to
    /// the queue of the workers serving that model. Each tier queue is bound with
    /// {name}.p{tier}, the plain queue with {name}; with one tier both are the name itself.
    /// </summary>
    private static async Task BindModelsAsync(IChannel ch, RabbitMqOptions o, IReadOnlyList<string> modelNames, CancellationToken ct)
    {
        await ch.ExchangeDeclareAsync(o.ModelExchange, ExchangeType.Direct, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
        foreach (string name in modelNames)
        {
            for (int t = 0; t < o.PriorityTiers && o.PriorityTiers > 1; t++)
            {
                await ch.QueueBindAsync(PriorityTiers.QueueName(o.RequestQueue, t, o.PriorityTiers), o.ModelExchange, PriorityTiers.ModelRoutingKey(name, t, o.PriorityTiers), cancellationToken: ct).ConfigureAwait(false);
            }

            await ch.QueueBindAsync(o.RequestQueue, o.ModelExchange, name, cancellationToken: ct).ConfigureAwait(false);
        }
    }
}
