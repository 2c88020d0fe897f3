using Folio.Contracts;
using Folio.Worker.Metrics;
using Folio.Worker.Tests.Support;

namespace Folio.Worker.Tests.Queues;

/// <summary>
/// The autoscaling series of /metrics (docs/operations.md): ready messages and consumers per request
/// queue, tiers included, from the broker; this worker's unacknowledged deliveries per queue.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class QueueMetricsTests(ServersFixture servers)
{
    [Fact]
    public async Task Each_tier_queue_reports_its_backlog_its_consumer_and_what_this_worker_holds_unacknowledged()
    {
        var names = new TestNames("qmetrics");
        const int Tiers = 2;
        const int PerTier = 8;
        try
        {
            await using var client = await TierNames.ClientAsync(servers, names, o => o.PriorityTiers = Tiers);
            for (int i = 0; i < PerTier; i++)
            {
                // Long enough (about 10 s each) that nothing finishes while the figures are read.
                await client.SubmitAsync(new GenerationRequest { RequestId = $"urgent-{i}", Prompt = "q", MaxTokens = 400, IgnoreEos = true, Priority = 0 });
                await client.SubmitAsync(new GenerationRequest { RequestId = $"later-{i}", Prompt = "q", MaxTokens = 400, IgnoreEos = true, Priority = 1 });
            }

            // One sequence at a time; with tiers each tier's consumer holds 1 + 2 deliveries (WorkerRuntime's prefetch).
            const int Prefetch = 3;
            await using var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 1, stepDelayMs: 25, rabbitOptions: o => o.PriorityTiers = Tiers);
            string tier0 = PriorityTiers.QueueName(names.RequestQueue, 0, Tiers);
            string tier1 = PriorityTiers.QueueName(names.RequestQueue, 1, Tiers);

            string text = string.Empty;
            await WaitShowing(() => text, async () =>
            {
                text = worker.Metrics.Render(worker.Engine.Load, worker.Runtime.InFlightCount, worker.Runtime.RedisHealthy, await worker.Runtime.ReadQueueDepthsAsync(CancellationToken.None));
                return Value(text, "folio_queue_messages_unacked", tier0) == Prefetch && Value(text, "folio_queue_messages_unacked", tier1) == Prefetch
                    && Value(text, "folio_queue_messages_ready", tier0) == PerTier - Prefetch && Value(text, "folio_queue_messages_ready", tier1) == PerTier - Prefetch;
            });

            Assert.Equal(1, Value(text, "folio_queue_consumers", tier0));
            Assert.Equal(1, Value(text, "folio_queue_consumers", tier1));
            // The plain queue (the default tier's second door) is consumed too and holds nothing.
            Assert.Equal(1, Value(text, "folio_queue_consumers", names.RequestQueue));
            Assert.Equal(0, Value(text, "folio_queue_messages_ready", names.RequestQueue));
            Assert.Equal(0, Value(text, "folio_queue_messages_unacked", names.RequestQueue));
            // The broker agrees with the ready figure, asked on a connection of the test's own.
            var foreign = new ForeignClient(servers, names);
            Assert.Equal((uint)(PerTier - Prefetch), await foreign.MessageCountAsync(tier0));
            Assert.Contains("tier=\"0\"", Line(text, "folio_queue_messages_ready", tier0), StringComparison.Ordinal);
            Assert.Contains("tier=\"1\"", Line(text, "folio_queue_messages_ready", tier1), StringComparison.Ordinal);
            Assert.Contains("model_name=", Line(text, "folio_queue_consumers", tier0), StringComparison.Ordinal);

            // A second worker on the same queues: the broker's figures count its consumer, and what
            // it holds is its own (the first worker's unacknowledged count does not move).
            await using var second = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 1, stepDelayMs: 25, rabbitOptions: o => o.PriorityTiers = Tiers);
            await WaitShowing(() => text, async () =>
            {
                text = second.Metrics.Render(second.Engine.Load, second.Runtime.InFlightCount, second.Runtime.RedisHealthy, await second.Runtime.ReadQueueDepthsAsync(CancellationToken.None));
                return Value(text, "folio_queue_consumers", tier0) == 2 && Value(text, "folio_queue_messages_unacked", tier0) == Prefetch
                    && Value(text, "folio_queue_messages_ready", tier0) == PerTier - (2 * Prefetch);
            });
            string first = worker.Metrics.Render(worker.Engine.Load, worker.Runtime.InFlightCount, worker.Runtime.RedisHealthy, await worker.Runtime.ReadQueueDepthsAsync(CancellationToken.None));
            Assert.Equal(Prefetch, Value(first, "folio_queue_messages_unacked", tier0));
        }
        finally
        {
            await TierNames.DeleteAsync(servers, names, Tiers);
        }
    }

    [Fact]
    public void A_queue_the_broker_gave_no_figures_for_loses_its_ready_and_consumer_series_instead_of_showing_stale_ones()
    {
        var metrics = new WorkerMetrics("m");
        var load = new Engine.EngineLoad(0, 0, 0, 0, 0, 0, 10, 10);
        string before = metrics.Render(load, 0, true, [new QueueDepth("q", 0, Ready: 12, Consumers: 3, Unacknowledged: 2)]);
        Assert.Equal(12, Value(before, "folio_queue_messages_ready", "q"));
        Assert.Equal(3, Value(before, "folio_queue_consumers", "q"));

        string after = metrics.Render(load, 0, true, [new QueueDepth("q", 0, Ready: null, Consumers: null, Unacknowledged: 1)]);
        Assert.Null(Line(after, "folio_queue_messages_ready", "q"));
        Assert.Null(Line(after, "folio_queue_consumers", "q"));
        Assert.Equal(1, Value(after, "folio_queue_messages_unacked", "q"));
    }

    /// <summary>Waits for the condition; on a timeout the failure shows the last exposition read.</summary>
    private static async Task WaitShowing(Func<string> lastText, Func<Task<bool>> condition)
    {
        try
        {
            await ContractGuaranteeTests.WaitUntil(condition);
        }
        catch (TimeoutException)
        {
            Assert.Fail("the queue series never showed the expected figures; last read:\n" + string.Join('\n', lastText().Split('\n').Where(l => l.StartsWith("folio_queue_", StringComparison.Ordinal))));
        }
    }

    private static string? Line(string text, string family, string queue) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(family + "{", StringComparison.Ordinal) && l.Contains($"queue=\"{queue}\"", StringComparison.Ordinal));

    private static double? Value(string text, string family, string queue) =>
        Line(text, family, queue) is { } line ? double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture) : null;
}
