using Folio.Contracts;
using Folio.Worker.Tests.Support;

namespace Folio.Worker.Tests.Cluster;

/// <summary>
/// Folio on a replicated Redis behind Sentinel (Folio:Redis:Configuration names the Sentinels and
/// <c>serviceName</c>): the worker finds the primary through the Sentinels, and when the primary is
/// SIGKILLed mid-run and the Sentinels promote its replica, every request still completes with
/// indices 0..n-1 once each and the text of an uninterrupted run.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedisSentinelTests(ServersFixture servers, RedisSentinelFixture sentinel) : IClassFixture<RedisSentinelFixture>
{
    private static string Json(GenerationRequest r) => $$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":{{r.MaxTokens}},"seed":{{r.Seed}},"ignore_eos":true}""";

    [Fact]
    public async Task A_primary_killed_mid_run_behind_sentinel_costs_no_request_and_no_index()
    {
        var names = new TestNames("sentinel");
        var client = new ForeignClient(servers, names, sentinel.Client);
        await using var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 10, contextTokens: 2048, redisConfiguration: sentinel.Configuration);
        var requests = Enumerable.Range(0, 6).Select(i => new GenerationRequest { RequestId = $"sent-{i}", Prompt = $"sentinel {i}", MaxTokens = 1200, Seed = 90 + i, IgnoreEos = true }).ToList();
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        // The worker writes to the primary the Sentinels named.
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(requests[0].RequestId)).Count(e => e["type"] == "token") >= 20);
        // Killed mid-run: about 12 s of tokens per request, none has ended.
        foreach (var r in requests)
        {
            Assert.DoesNotContain(await client.ReadAsync(r.RequestId), e => e["type"] is "done" or "error");
        }

        sentinel.KillPrimary();
        await sentinel.WaitFailedOverAsync(TimeSpan.FromSeconds(60));

        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(90));
            int[] expected = ContractGuaranteeTests.ExpectedTokens(r, worker.Engine);
            Assert.Equal(expected, StreamChecks.AssertWellFormed(entries));
            Assert.Equal(string.Concat(expected.Select(t => t == FakeEngine.EosId ? string.Empty : FakeEngine.TextOf(t))), entries[^1]["text"]);
        }

        // Held through the outage: nothing handed back, nothing recomputed.
        Assert.Equal(requests.Count, worker.Engine.Submitted);
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }
}
