using Folio.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Folio.Worker.Tests.Queues;

/// <summary>
/// The error queue is a quorum queue (a classic one lives on one node of a cluster: while that node
/// is down nothing can be dead-lettered); one an older Folio declared classic is used as it is,
/// with the way to change it in the log.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ErrorQueueTypeTests(ServersFixture servers)
{
    [Fact]
    public async Task The_worker_declares_its_error_queue_as_a_quorum_queue()
    {
        var names = new TestNames("errq");
        await using (await InProcessWorker.StartAsync(servers, names))
        {
        }

        // Declaring it again as a quorum queue succeeds only if it is one (RabbitMQ refuses another type with 406).
        Assert.Null(await DeclareAsync(names.ErrorQueue, "quorum"));
        Assert.Contains("x-queue-type", await DeclareAsync(names.ErrorQueue, "classic"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_classic_error_queue_from_an_older_folio_is_kept_and_the_log_says_how_to_replace_it()
    {
        var names = new TestNames("errqold");
        Assert.Null(await DeclareAsync(names.ErrorQueue, "classic"));
        using var log = new CapturingLogger("worker");
        await using var worker = await InProcessWorker.StartAsync(servers, names, log: log);

        // It still dead-letters into the classic queue.
        var client = new ForeignClient(servers, names);
        await client.PublishAsync("not json");
        await ContractGuaranteeTests.WaitUntil(async () => await client.MessageCountAsync(names.ErrorQueue) == 1);
        Assert.Contains(log.Entries, l => l.Message.Contains(names.ErrorQueue, StringComparison.Ordinal) && l.Message.Contains("x-queue-type", StringComparison.Ordinal)
            && l.Message.Contains("rabbitmqctl delete_queue " + names.ErrorQueue, StringComparison.Ordinal));
    }

    /// <summary>Declares the queue with the given type; null when RabbitMQ accepts, else its refusal.</summary>
    private async Task<string?> DeclareAsync(string queue, string type)
    {
        try
        {
            await using var ch = await servers.Rabbit.CreateChannelAsync();
            await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?> { ["x-queue-type"] = type });
            return null;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            return e.ShutdownReason.ReplyText;
        }
    }
}
