using Folio.Client;
using Folio.Contracts;
using Folio.Worker.Tests.Support;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Folio.Worker.Tests.Cluster;

/// <summary>
/// Folio on a 3-node RabbitMQ cluster (issue 14): the request queue is a quorum queue with a member
/// on every node, the worker and the publisher list the three nodes, and the node that leads the
/// queue is SIGKILLed while requests run. Nothing is lost, no index is written twice, and the
/// worker consumes again within seconds.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RabbitClusterTests(ServersFixture servers, RabbitClusterFixture cluster, ITestOutputHelper output) : IClassFixture<RabbitClusterFixture>
{
    /// <param name="workerOnLeader">
    /// The queue is declared through node 2 (a quorum queue's leader starts on the declaring client's
    /// node). true: the worker is connected to node 2 too, so the kill also takes the worker's
    /// connection and every delivery comes back through another node. false: the worker is on
    /// another node, so its connection survives and only the queue's leader moves under its consumer.
    /// </param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_request_queues_leader_killed_mid_run_loses_and_duplicates_nothing(bool workerOnLeader)
    {
        var names = new TestNames("rcluster");
        var reader = new ForeignClient(servers, names);
        using var log = new Folio.Testing.CapturingLogger("worker");
        const int DeclaredOn = 2;
        await DeclareThroughAsync(DeclaredOn, names.RequestQueue);
        var worker = await StartWorkerAsync(names, onNode: workerOnLeader ? DeclaredOn : null, notOnNode: workerOnLeader ? null : DeclaredOn, log);
        try
        {
            await using var publisher = await FolioClient.ConnectAsync(new FolioClientOptions
            {
                RabbitMqUri = cluster.Uri,
                RedisConfiguration = servers.RedisConfiguration,
                RequestQueue = names.RequestQueue,
                CancelExchange = names.CancelExchange,
                StreamPrefix = names.StreamPrefix,
                DeclareQueue = false, // the worker declared it, with its group size
            });
            var requests = Enumerable.Range(0, 8).Select(i => new GenerationRequest { RequestId = $"leader-{i}", Prompt = $"leader {i}", MaxTokens = 600, Seed = 20 + i, IgnoreEos = true }).ToList();
            await ContractGuaranteeTests.WaitUntil(() => QueueExistsAsync(names.RequestQueue), 30);
            int leader = await RabbitClusterFixture.LeaderOfAsync(names.RequestQueue);
            Assert.Equal(DeclaredOn, leader);
            foreach (var r in requests)
            {
                await publisher.SubmitAsync(r);
            }

            await ContractGuaranteeTests.WaitUntil(async () => (await reader.ReadAsync(requests[0].RequestId)).Count(e => e["type"] == "token") >= 20, 30);

            // Killed mid-run (about 9 s of tokens each): no request has ended yet. The leader was
            // asked before publishing, since asking takes longer than a request runs.
            foreach (var r in requests)
            {
                Assert.DoesNotContain(await reader.ReadAsync(r.RequestId), e => e["type"] is "done" or "error");
            }

            int workerNode = worker.Runtime.BrokerPort - 5680;
            await cluster.KillNodeAsync(leader);
            Assert.Equal(workerOnLeader, leader == workerNode);

            // A request published after the kill, through whichever node still answers, is served:
            // the worker consumes again. The publisher retries while its own connection recovers.
            var after = new GenerationRequest { RequestId = "after-kill", Prompt = "after", MaxTokens = 20, Seed = 99, IgnoreEos = true };
            var killedAt = DateTime.UtcNow;
            await ContractGuaranteeTests.WaitUntil(async () =>
            {
                try
                {
                    await publisher.SubmitAsync(after);
                    return true;
                }
                catch (Exception e) when (e is not Xunit.Sdk.XunitException)
                {
                    await Task.Delay(200);
                    return false;
                }
            }, 30);

            foreach (var r in requests.Append(after))
            {
                var entries = await reader.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(60));
                Assert.Equal(1, entries.Count(e => e["type"] == "done"));
                Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, worker.Engine), StreamChecks.AssertWellFormed(entries));
            }

            var served = DateTime.UtcNow - killedAt;
            int restarts = 0;
            foreach (var r in requests)
            {
                restarts += (await reader.ReadAsync(r.RequestId)).Count(e => e["type"] == "start") - 1;
            }

            // What the run went through, for the log: which node died, how many requests were taken again.
            string metrics = MetricsText.Of(worker);
            double reattached = MetricsText.Sum(metrics, "folio_requests_reattached_total");
            double alreadyFinished = MetricsText.Sum(metrics, "folio_requests_already_finished_total");
            output.WriteLine($"worker on rabbit-c{workerNode}, killed rabbit-c{leader}; {restarts} of {requests.Count} requests started a second time; worker now on rabbit-c{worker.Runtime.BrokerPort - 5680}; redeliveries: {reattached} re-attached to runs the worker held, {alreadyFinished} acknowledged as already finished; engine submissions {worker.Engine.Submitted}; the request after the kill done {served.TotalSeconds:F1} s after it");
            output.WriteLine(string.Join("\n", log.Entries.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Information).Select(l => l.Level + " " + l.Message)));
            if (workerOnLeader)
            {
                // The worker's connection died with the node: every delivery it held came back to it, and
                // each either continued the run it still held or, that run having ended meanwhile, was
                // acknowledged without work (its stream already had its done entry).
                Assert.True(reattached + alreadyFinished >= requests.Count, $"the worker lost its connection with {requests.Count} deliveries held, yet only {reattached} + {alreadyFinished} came back");
            }
            Assert.True(served < TimeSpan.FromSeconds(60), $"node c{leader} killed; the request published after it took {served}");

            // Nothing left in the queue (ready or unacknowledged) once the worker is gone.
            await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(worker.Runtime.InFlightCount == 0));
            await worker.CrashAsync();
            await Task.Delay(500);
            await using var admin = await RabbitClusterFixture.ConnectAsync();
            await using var ch = await admin.CreateChannelAsync();
            Assert.Equal(0u, (await ch.QueueDeclarePassiveAsync(names.RequestQueue)).MessageCount);
            await ch.QueueDeleteAsync(names.RequestQueue);
        }
        finally
        {
            await worker.DisposeAsync();
            await cluster.RestartKilledAsync();
        }
    }

    /// <summary>
    /// A worker listing all three nodes, started again until it is connected to the node wanted:
    /// RabbitMQ.Client shuffles the endpoints of a list, so which node a worker takes is chance.
    /// </summary>
    private async Task<InProcessWorker> StartWorkerAsync(TestNames names, int? onNode, int? notOnNode, Folio.Testing.CapturingLogger log)
    {
        for (int attempt = 0; ; attempt++)
        {
            var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 15, contextTokens: 2048, log: log, rabbitOptions: o =>
            {
                o.Uri = cluster.Uri;
                o.QuorumInitialGroupSize = 3;
            });
            int node = worker.Runtime.BrokerPort - 5680;
            if ((onNode is null || node == onNode) && node != notOnNode)
            {
                return worker;
            }

            await worker.DisposeAsync();
            Assert.True(attempt < 30, $"30 workers in a row connected to the wrong node (last: rabbit-c{node})");
        }
    }

    /// <summary>Declares the request queue as the worker would, through one given node only (a quorum queue's leader starts on the declaring client's node).</summary>
    private static async Task DeclareThroughAsync(int node, string queue)
    {
        var factory = new ConnectionFactory { UserName = "guest", Password = "guest", Port = 5680 + node, HostName = "127.0.0.1" };
        await using var connection = await factory.CreateConnectionAsync();
        await using var ch = await connection.CreateChannelAsync();
        var arguments = RequestQueueArguments.Build(new Folio.Worker.Options.RabbitMqOptions { RequestQueue = queue }.ErrorQueueName, maxDeliveries: 5, quorumInitialGroupSize: 3);
        await ch.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments);
    }

    private static async Task<bool> QueueExistsAsync(string queue)
    {
        await using var admin = await RabbitClusterFixture.ConnectAsync();
        await using var ch = await admin.CreateChannelAsync();
        try
        {
            await ch.QueueDeclarePassiveAsync(queue);
            return true;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return false;
        }
    }
}
