using Folio.Client;
using Folio.Contracts;
using Folio.Testing;

namespace Folio.Worker.Tests.Queues;

/// <summary>
/// Bounded request queues (x-max-length / x-max-length-bytes with x-overflow reject-publish): a
/// full queue refuses the publish, the SDK turns the broker's nack into queue_full before any
/// stream handle exists, and nothing accepted is lost or run twice.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class BoundedQueueTests(ServersFixture servers)
{
    private static GenerationRequest Request(string id) => new() { RequestId = id, Prompt = "bounded " + id, MaxTokens = 6, IgnoreEos = true };

    [Fact]
    public async Task A_full_bounded_queue_refuses_with_queue_full_and_every_accepted_request_finishes_once()
    {
        var names = new TestNames("bounded");
        await using var client = await TierNames.ClientAsync(servers, names, o => o.MaxLength = 10);
        var accepted = new List<string>();
        var refused = new List<(string Id, QueueFullException Error)>();
        // No worker: the SDK declares the bounded queue, and the backlog fills it.
        for (int i = 0; i < 25; i++)
        {
            string id = $"b-{i}";
            try
            {
                await client.SubmitAsync(Request(id));
                accepted.Add(id);
            }
            catch (QueueFullException e)
            {
                refused.Add((id, e));
            }
        }

        // A quorum queue checks its bound before it takes a message, so with sequential publishes
        // it refuses once it holds more than the bound: RabbitMQ 3.10 accepts the 11th.
        Assert.InRange(accepted.Count, 10, 11);
        Assert.Equal(25 - accepted.Count, refused.Count);
        Assert.Equal(Enumerable.Range(0, accepted.Count).Select(i => $"b-{i}"), accepted);
        Assert.All(refused, r =>
        {
            Assert.StartsWith("queue_full:", r.Error.Message, StringComparison.Ordinal);
            Assert.Contains("retry later", r.Error.Message, StringComparison.Ordinal);
            Assert.Contains("Folio:RabbitMq:MaxLength", r.Error.Message, StringComparison.Ordinal);
            Assert.Equal(names.RequestQueue, r.Error.Queue);
        });
        Assert.Equal("queue_full", QueueFullException.Code);

        await using var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 4, rabbitOptions: o => o.MaxLength = 10);
        var foreign = new ForeignClient(servers, names);
        foreach (string id in accepted)
        {
            var entries = await foreign.WaitTerminalAsync(id, TimeSpan.FromSeconds(30));
            Assert.Equal("done", entries[^1]["type"]);
            Assert.Single(entries, e => e["type"] == "start");
            StreamChecks.AssertWellFormed(entries);
        }

        // Each accepted request ran once; a refused one never reached a worker, so its reader has no
        // stream to wait for (the SDK threw before a stream handle existed).
        Assert.Equal(accepted.Count, worker.Engine.Submitted);
        foreach (var (id, _) in refused)
        {
            Assert.False(await servers.Redis.GetDatabase().KeyExistsAsync(names.Stream(id)));
        }

        await worker.AssertEverythingAcknowledgedAsync(foreign, names.RequestQueue);
    }

    [Fact]
    public async Task A_byte_bound_refuses_too()
    {
        var names = new TestNames("boundbytes");
        // Each body is about 100 bytes: a 1000-byte bound takes about ten.
        await using var client = await TierNames.ClientAsync(servers, names, o => o.MaxLengthBytes = 1000);
        int accepted = 0;
        int refused = 0;
        for (int i = 0; i < 30; i++)
        {
            try
            {
                await client.SubmitAsync(Request($"bb-{i}"));
                accepted++;
            }
            catch (QueueFullException)
            {
                refused++;
            }
        }

        Assert.InRange(accepted, 5, 15);
        Assert.Equal(30 - accepted, refused);
        var foreign = new ForeignClient(servers, names);
        Assert.Equal((uint)accepted, await foreign.MessageCountAsync(names.RequestQueue));
    }

    [Fact]
    public async Task A_bound_that_differs_from_the_existing_queue_is_named_with_the_setting_to_change()
    {
        var names = new TestNames("boundmismatch");
        await using (await InProcessWorker.StartAsync(servers, names, rabbitOptions: o => o.MaxLength = 10))
        {
        }

        // The SDK told another bound: the first submit says which option to change, and nothing is published.
        await using (var client = await TierNames.ClientAsync(servers, names, o => o.MaxLength = 5))
        {
            var e = await Assert.ThrowsAsync<QueueDeclarationException>(() => client.SubmitAsync(Request("mismatch")));
            Assert.Contains("FolioClientOptions.MaxLength", e.Message, StringComparison.Ordinal);
            Assert.Contains("x-max-length", e.Message, StringComparison.Ordinal);
            Assert.Contains("rabbitmqctl delete_queue " + names.RequestQueue, e.Message, StringComparison.Ordinal);
        }

        // A client with no bound of its own publishes to the queue as it is.
        await using (var plain = await TierNames.ClientAsync(servers, names))
        {
            await plain.SubmitAsync(Request("plain"));
        }

        // A worker configured with another bound serves the queue as it is and says what to change.
        var log = new CapturingLogger("worker");
        await using var worker = await InProcessWorker.StartAsync(servers, names, log: log, rabbitOptions: o => o.MaxLength = 5);
        var foreign = new ForeignClient(servers, names);
        Assert.Equal("done", (await foreign.WaitTerminalAsync("plain", TimeSpan.FromSeconds(30)))[^1]["type"]);
        Assert.Contains(log.Entries, l => l.Message.Contains("Folio:RabbitMq:MaxLength", StringComparison.Ordinal) && l.Message.Contains(names.RequestQueue, StringComparison.Ordinal));
        Assert.False(await servers.Redis.GetDatabase().KeyExistsAsync(names.Stream("mismatch")));
    }
}
