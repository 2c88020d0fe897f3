namespace Folio.Worker.Tests;

/// <summary>docs/contract.md section 3: cancel through the folio.cancel fanout exchange, during and before generation.</summary>
[Collection(ServersCollection.Name)]
public sealed class CancelTests(ServersFixture servers)
{
    [Fact]
    public async Task Cancel_during_generation_finishes_with_abort_and_keeps_the_tokens_written()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 20);
        await client.PublishAsync("""{"request_id":"long","prompt":"go on","max_tokens":400,"ignore_eos":true}""");
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync("long")).Count(e => e["type"] == "token") >= 3);
        await client.CancelAsync("long");
        var entries = await client.WaitTerminalAsync("long", TimeSpan.FromSeconds(10));
        StreamChecks.AssertWellFormed(entries);
        Assert.Equal("abort", entries[^1]["finish_reason"]);
        Assert.InRange(entries.Count(e => e["type"] == "token"), 3, 399);
        await ContractGuaranteeTests.WaitUntil(async () => await client.MessageCountAsync(names.RequestQueue) == 0 && worker.Runtime.InFlightCount == 0);
    }

    [Fact]
    public async Task Cancel_before_any_worker_took_the_request_finishes_it_with_abort_when_taken()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        // One sequence at a time: the second request waits in the queue while the first runs.
        await using var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 1, stepDelayMs: 10);
        await client.PublishAsync("""{"request_id":"first","prompt":"busy","max_tokens":150,"ignore_eos":true}""");
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync("first")).Count > 1);
        await client.PublishAsync("""{"request_id":"second","prompt":"later","max_tokens":50,"ignore_eos":true}""");
        await client.CancelAsync("second");
        await Task.Delay(200);
        Assert.Empty(await client.ReadAsync("second")); // not taken yet: it waits in the queue
        var entries = await client.WaitTerminalAsync("second", TimeSpan.FromSeconds(20));
        StreamChecks.AssertWellFormed(entries);
        Assert.Equal("start", entries[0]["type"]);
        Assert.Equal("abort", entries[^1]["finish_reason"]);
        Assert.Equal("0", entries[^1]["completion_tokens"]);
        Assert.Equal("length", (await client.WaitTerminalAsync("first", TimeSpan.FromSeconds(20)))[^1]["finish_reason"]);
    }
}
