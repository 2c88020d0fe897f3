using Folio.Contracts;

namespace Folio.Worker.Tests.Queues;

/// <summary>
/// Priority tiers (docs/contract.md, "Priority tiers") through a real broker: the SDK routes by
/// priority, the worker consumes every tier and admits by the tier rule. The stand-in engine records
/// the order in which requests reached it.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class PriorityTierTests(ServersFixture servers)
{
    private static GenerationRequest Request(string id, int priority, int maxTokens) =>
        new() { RequestId = id, Prompt = "tier " + id, MaxTokens = maxTokens, IgnoreEos = true, Priority = priority };

    [Fact]
    public async Task An_urgent_request_overtakes_a_backlog_of_fifty_after_at_most_what_the_worker_already_holds()
    {
        var names = new TestNames("tiers");
        const int Tiers = 3;
        try
        {
            await using var client = await TierNames.ClientAsync(servers, names, o => o.PriorityTiers = Tiers);
            // Each request runs about 50 ms: long enough that the next delivery of each tier (sent
            // when the previous one is acknowledged) is back in the worker before the engine has
            // room again, also on a loaded machine, so both tiers really wait at every admission.
            await using var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 1, stepDelayMs: 10, rabbitOptions: o => o.PriorityTiers = Tiers);
            var low = Enumerable.Range(0, 50).Select(i => $"low-{i}").ToList();
            foreach (string id in low)
            {
                await client.SubmitAsync(Request(id, priority: 1, maxTokens: 40));
            }

            var foreign = new ForeignClient(servers, names);
            await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(worker.Engine.Submitted >= 3));
            int before = worker.Engine.Submitted;
            await client.SubmitAsync(Request("urgent", priority: -1, maxTokens: 12));
            Assert.Equal("done", (await foreign.WaitTerminalAsync("urgent", TimeSpan.FromSeconds(60)))[^1]["type"]);

            // Ahead of it: what had reached the engine when it was published, and at most the one
            // request MaxNumSeqs = 1 lets the worker be admitting at that moment.
            int position = worker.Engine.SubmittedIds.ToList().IndexOf("urgent");
            Assert.InRange(position, before, before + 1);
            Assert.True(position < 10, $"the urgent request was admitted {position}th of 51");

            foreach (string id in low)
            {
                Assert.Equal("done", (await foreign.WaitTerminalAsync(id, TimeSpan.FromSeconds(60)))[^1]["type"]);
            }

            // Each once: nothing lost, nothing run twice.
            Assert.Equal(51, worker.Engine.Submitted);
            Assert.Equal(51, worker.Engine.SubmittedIds.Distinct().Count());
        }
        finally
        {
            await TierNames.DeleteAsync(servers, names, Tiers);
        }
    }

    [Fact]
    public async Task A_sustained_stream_of_urgent_work_still_admits_one_lower_request_in_every_four()
    {
        var names = new TestNames("tierflood");
        const int Tiers = 2;
        const int Every = 4;
        try
        {
            await using var client = await TierNames.ClientAsync(servers, names, o => o.PriorityTiers = Tiers);

            // The backlog is there before the worker starts: 20 background, 80 urgent.
            for (int i = 0; i < 20; i++)
            {
                await client.SubmitAsync(Request($"bg-{i}", priority: 1, maxTokens: 5));
            }

            for (int i = 0; i < 80; i++)
            {
                await client.SubmitAsync(Request($"urgent-{i}", priority: 0, maxTokens: 5));
            }

            // Each request runs about 50 ms: long enough that the next delivery of each tier (sent
            // when the previous one is acknowledged) is back in the worker before the engine has
            // room again, also on a loaded machine, so both tiers really wait at every admission.
            await using var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 1, stepDelayMs: 10, rabbitOptions: o =>
            {
                o.PriorityTiers = Tiers;
                o.LowerTierEvery = Every;
            });
            var foreign = new ForeignClient(servers, names);
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal("done", (await foreign.WaitTerminalAsync($"bg-{i}", TimeSpan.FromSeconds(60)))[^1]["type"]);
            }

            var order = worker.Engine.SubmittedIds.ToList();
            // While both tiers wait (the first 60 admissions: urgent work cannot run out before),
            // every window of four admissions holds a background request, and no more than the rule
            // gives. The very first admission is left out: it may come before any background request
            // reached the worker (the consumers start one after the other).
            var head = order.Take(60).Select(id => id.StartsWith("bg-", StringComparison.Ordinal)).ToList();
            for (int i = 1; i + Every <= head.Count; i++)
            {
                Assert.True(head.Skip(i).Take(Every).Any(b => b), $"admissions {i}..{i + Every - 1} hold no background request: {string.Join(' ', order.Take(60))}");
            }

            int background = head.Count(b => b);
            Assert.InRange(background, (60 / Every) - 1, (60 / Every) + 1);
            // Every background request ran once (intake runs deliveries in parallel, so within a
            // tier the order is only roughly the queue's).
            Assert.Equal(Enumerable.Range(0, 20).Select(i => $"bg-{i}").Order(), order.Where(id => id.StartsWith("bg-", StringComparison.Ordinal)).Order());
        }
        finally
        {
            await TierNames.DeleteAsync(servers, names, Tiers);
        }
    }

    [Fact]
    public async Task A_publisher_that_knows_no_tiers_is_served_from_the_plain_queue_as_default_priority()
    {
        var names = new TestNames("tierplain");
        const int Tiers = 3;
        try
        {
            await using var worker = await InProcessWorker.StartAsync(servers, names, rabbitOptions: o => o.PriorityTiers = Tiers);
            var foreign = new ForeignClient(servers, names);
            await foreign.PublishAsync("""{"request_id": "plain", "prompt": "hi", "max_tokens": 3}""");
            await foreign.PublishAsync("""{"request_id": "viaexchange", "prompt": "hi", "max_tokens": 3}""", exchange: names.RequestQueue);
            Assert.Equal("done", (await foreign.WaitTerminalAsync("plain", TimeSpan.FromSeconds(30)))[^1]["type"]);
            Assert.Equal("done", (await foreign.WaitTerminalAsync("viaexchange", TimeSpan.FromSeconds(30)))[^1]["type"]);
        }
        finally
        {
            await TierNames.DeleteAsync(servers, names, Tiers);
        }
    }
}
