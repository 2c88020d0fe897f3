using Folio.Contracts;

namespace Folio.Worker.Tests;

/// <summary>Crash, drain and hand-over between workers: streams complete once, indices never repeat, tokens equal an uninterrupted run.</summary>
[Collection(ServersCollection.Name)]
public sealed class ResumeTests(ServersFixture servers)
{
    private static string Json(GenerationRequest r) => $$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":{{r.MaxTokens}},"seed":{{r.Seed}},"ignore_eos":true}""";

    [Fact]
    public async Task A_crashed_workers_requests_are_resumed_by_another_with_identical_tokens()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        var requests = Enumerable.Range(0, 6).Select(i => new GenerationRequest { RequestId = $"crash-{i}", Prompt = $"p{i}", MaxTokens = 60, Seed = 100 + i, IgnoreEos = true }).ToList();
        var first = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 15);
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync("crash-0")).Count(e => e["type"] == "token") >= 10);
        await first.CrashAsync();
        await using var second = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 1);
        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(30));
            int[] ids = StreamChecks.AssertWellFormed(entries);
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, second.Engine), ids);
        }

        var resumed = await client.ReadAsync("crash-0");
        var starts = resumed.Where(e => e["type"] == "start").ToList();
        Assert.Equal(2, starts.Count);
        Assert.Equal("2", starts[1]["attempt"]);
        Assert.NotEqual("0", starts[1]["resume_index"]);
    }

    [Fact]
    public async Task Drain_hands_unfinished_requests_back_and_another_worker_finishes_them()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        var r = new GenerationRequest { RequestId = "drain-1", Prompt = "slow", MaxTokens = 300, Seed = 5, IgnoreEos = true };
        var first = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 20);
        await client.PublishAsync(Json(r));
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(r.RequestId)).Count(e => e["type"] == "token") >= 5);
        await first.DrainAsync(TimeSpan.FromMilliseconds(300));
        var partial = await client.ReadAsync(r.RequestId);
        Assert.DoesNotContain(partial, e => e["type"] is "done" or "error");
        await using var second = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 1);
        var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(30));
        Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, second.Engine), StreamChecks.AssertWellFormed(entries));
    }

    [Fact]
    public async Task Drain_lets_short_requests_finish_within_the_timeout()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 5);
        await client.PublishAsync("""{"request_id":"short","prompt":"x","max_tokens":40,"ignore_eos":true}""");
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync("short")).Count > 0);
        await worker.DrainAsync(TimeSpan.FromSeconds(20));
        StreamChecks.AssertWellFormed(await client.ReadAsync("short"));
        Assert.Equal(0u, await client.MessageCountAsync(names.RequestQueue));
    }

    [Fact]
    public async Task Two_workers_on_one_queue_both_take_work_and_finish_everything()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var a = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 2, stepDelayMs: 10, name: "worker-a");
        await using var b = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 2, stepDelayMs: 10, name: "worker-b");
        var requests = Enumerable.Range(0, 16).Select(i => new GenerationRequest { RequestId = $"two-{i}", Prompt = $"q{i}", MaxTokens = 12, Seed = i, IgnoreEos = true }).ToList();
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        var workers = new HashSet<string>();
        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(30));
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, a.Engine), StreamChecks.AssertWellFormed(entries));
            workers.Add(entries.Single(e => e["type"] == "start")["worker"]);
        }

        Assert.Equal(new HashSet<string> { "worker-a", "worker-b" }, workers);
    }
}
