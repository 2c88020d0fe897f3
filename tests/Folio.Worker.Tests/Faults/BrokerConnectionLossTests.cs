using System.Diagnostics;
using Folio.Contracts;
using Folio.Worker.Output;
using Folio.Worker.Tests.Support;
using Xunit.Abstractions;

namespace Folio.Worker.Tests.Faults;

/// <summary>
/// The broker closes a worker's connection while its requests run (rabbitmqctl close_connection on
/// the shared broker, which closes only that worker's connection): the broker requeues every delivery,
/// the worker keeps generating, and the redeliveries that come back to it continue where they are.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class BrokerConnectionLossTests(ServersFixture servers, ITestOutputHelper output)
{
    private const int Requests = 16;
    // Long and slow enough (900 tokens at >= 15 ms a step) that the requests are still short of half
    // way when `rabbitmqctl close_connection`, which takes seconds on a loaded machine, lands.
    private const int Tokens = 900;

    private static List<GenerationRequest> Workload(string tag) =>
        [.. Enumerable.Range(0, Requests).Select(i => new GenerationRequest { RequestId = $"{tag}-{i}", Prompt = $"connection {i}", MaxTokens = Tokens, Seed = 300 + i, IgnoreEos = true })];

    private static string Json(GenerationRequest r) => $$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":{{r.MaxTokens}},"seed":{{r.Seed}},"ignore_eos":true}""";

    [Fact]
    public async Task Redeliveries_after_a_broker_connection_loss_continue_without_recompute()
    {
        var names = new TestNames("reattach");
        var client = new ForeignClient(servers, names);
        string name = "reattach-" + Guid.NewGuid().ToString("N")[..6];
        await using var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: Requests, stepDelayMs: 15, name: name, contextTokens: 1024);
        string connection = await BrokerControl.FindConnectionAsync("folio-worker " + name);
        var requests = Workload("conn");
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await WaitAllHaveTokensAsync(client, requests, 20);
        await BrokerControl.CloseConnectionAsync(connection);
        var clock = Stopwatch.StartNew();
        int writtenAtLoss = await FewestTokensAsync(client, requests);
        Assert.True(writtenAtLoss < Tokens / 2, $"the requests were {writtenAtLoss} tokens along when the connection went; make them longer");
        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(60));
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, worker.Engine), StreamChecks.AssertWellFormed(entries));

            // One extra start entry (the re-attach: resume_index where the stream stood, checked by
            // AssertWellFormed), no index twice, and the request is not charged as a possible crash.
            var starts = entries.Where(e => e["type"] == "start").ToList();
            Assert.Equal(2, starts.Count);
            Assert.NotEqual("0", starts[1]["resume_index"]);
            Assert.Equal(name, starts[1]["worker"]);
            var state = await servers.Redis.GetDatabase().HashGetAsync(StreamKeys.For(names.StreamPrefix, r.RequestId).State, ["takes", "starts"]);
            Assert.Equal(1, (int)state[0]);
            Assert.Equal(1, (int)state[1]);
        }

        var reattached = clock.Elapsed;

        // No recompute: the engine was given each request once, and each redelivery re-attached.
        Assert.Equal(Requests, worker.Engine.Submitted);
        Assert.Equal(Requests, MetricsText.Sum(MetricsText.Of(worker), "folio_requests_reattached_total"));
        Assert.Equal(0, MetricsText.Sum(MetricsText.Of(worker), "folio_requests_resumed_total"));
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);

        // The same workload resumed from scratch instead (the worker crashes, a new one resumes every
        // request from its stream, one suspect at a time through probation) takes far longer.
        var scratch = await ResumeFromScratchAsync(writtenAtLoss);
        output.WriteLine($"connection loss, re-attached: {reattached.TotalSeconds:0.00} s to finish {Requests} requests; crash and resume from scratch: {scratch.TotalSeconds:0.00} s ({scratch / reattached:0.0}x)");
        Assert.True(reattached < scratch, $"re-attaching ({reattached.TotalSeconds:0.00} s) was not faster than resuming from scratch ({scratch.TotalSeconds:0.00} s)");
    }

    /// <param name="writtenAtLoss">Where the first run stood when its connection went: the crash comes at the same point.</param>
    private async Task<TimeSpan> ResumeFromScratchAsync(int writtenAtLoss)
    {
        var names = new TestNames("scratch");
        var client = new ForeignClient(servers, names);
        var requests = Workload("scratch");
        var first = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: Requests, stepDelayMs: 15, contextTokens: 1024);
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await WaitAllHaveTokensAsync(client, requests, writtenAtLoss);
        var clock = Stopwatch.StartNew();
        await first.CrashAsync();
        await using var second = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: Requests, stepDelayMs: 15, contextTokens: 1024);
        foreach (var r in requests)
        {
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, second.Engine), StreamChecks.AssertWellFormed(await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(120))));
        }

        return clock.Elapsed;
    }

    private static async Task<int> FewestTokensAsync(ForeignClient client, List<GenerationRequest> requests)
    {
        int fewest = int.MaxValue;
        foreach (var r in requests)
        {
            fewest = Math.Min(fewest, (await client.ReadAsync(r.RequestId)).Count(e => e["type"] == "token"));
        }

        return fewest;
    }

    private static Task WaitAllHaveTokensAsync(ForeignClient client, List<GenerationRequest> requests, int tokens) =>
        ContractGuaranteeTests.WaitUntil(async () =>
        {
            foreach (var r in requests)
            {
                if ((await client.ReadAsync(r.RequestId)).Count(e => e["type"] == "token") < tokens)
                {
                    return false;
                }
            }

            return true;
        }, 60);
}
