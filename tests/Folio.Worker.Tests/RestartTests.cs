using Folio.Contracts;

namespace Folio.Worker.Tests;

/// <summary>RabbitMQ and Redis restarted mid-run (through tests/servers.sh): nothing lost, nothing duplicated.</summary>
[Collection(ServersCollection.Name)]
public sealed class RestartTests(ServersFixture servers)
{
    private static List<GenerationRequest> Requests(string tag, int count, int maxTokens) =>
        Enumerable.Range(0, count).Select(i => new GenerationRequest { RequestId = $"{tag}-{i}", Prompt = $"restart {i}", MaxTokens = maxTokens, Seed = 40 + i, IgnoreEos = true }).ToList();

    private static string Json(GenerationRequest r) => $$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":{{r.MaxTokens}},"seed":{{r.Seed}},"ignore_eos":true}""";

    [Fact]
    public async Task Redis_restarted_mid_run_loses_and_duplicates_nothing()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 10);
        var requests = Requests("redis", 6, 200);
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(requests[0].RequestId)).Count(e => e["type"] == "token") >= 20);
        await servers.RunServersScriptAsync("restart-redis");
        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(60));
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, worker.Engine), StreamChecks.AssertWellFormed(entries));
        }

        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }

    [Fact]
    public async Task Rabbit_mq_restarted_mid_run_loses_and_duplicates_nothing()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 3, stepDelayMs: 10);
        var requests = Requests("rabbit", 8, 300);
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(requests[0].RequestId)).Count(e => e["type"] == "token") >= 20);
        await servers.RunServersScriptAsync("restart-rabbitmq");
        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(120));
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, worker.Engine), StreamChecks.AssertWellFormed(entries));
        }

        // After the recovery the worker still acknowledges what it finishes: with a prefetch of 3, a
        // leak of unacknowledged deliveries would stall these.
        var after = Requests("after", 8, 5);
        foreach (var r in after)
        {
            await client.PublishAsync(Json(r));
        }

        foreach (var r in after)
        {
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, worker.Engine), StreamChecks.AssertWellFormed(await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(60))));
        }

        await ContractGuaranteeTests.WaitUntil(async () => await client.MessageCountAsync(names.RequestQueue) == 0 && worker.Runtime.InFlightCount == 0, 60);

        // Cancel still reaches the recovered worker (its cancel queue was declared anew).
        await client.PublishAsync("""{"request_id":"post-restart-cancel","prompt":"go","max_tokens":300,"ignore_eos":true}""");
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync("post-restart-cancel")).Count(e => e["type"] == "token") >= 2);
        await client.CancelAsync("post-restart-cancel");
        Assert.Equal("abort", (await client.WaitTerminalAsync("post-restart-cancel", TimeSpan.FromSeconds(20)))[^1]["finish_reason"]);

        // Nothing was left unacknowledged: once the worker is gone, no message comes back to the queue.
        await ContractGuaranteeTests.WaitUntil(async () => worker.Runtime.InFlightCount == 0);
        await worker.CrashAsync();
        await Task.Delay(1000);
        Assert.Equal(0u, await client.MessageCountAsync(names.RequestQueue));
    }
}
