using Folio.Contracts;
using Folio.Testing;
using Folio.Worker.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Folio.Worker.Tests.Faults;

/// <summary>
/// Redis restarted without persistence in the middle of generation (the test's own redis-server,
/// killed and started empty): what the worker does and what a reader sees.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedisDataLossTests(ServersFixture servers)
{
    private static string Json(GenerationRequest r) => $$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":{{r.MaxTokens}},"seed":{{r.Seed}},"ignore_eos":true}""";

    /// <summary>
    /// The worker finds the request's state gone at its next write (Lost), makes its delivery the owner
    /// again (Restore: a start entry with resume_index 0) and rewrites every token it holds from index
    /// 0, then goes on. The new stream is a complete, valid stream on its own; a reader that kept the
    /// highest index it had read skips the repeated indices and sees every index once, with the text
    /// of an uninterrupted run.
    /// </summary>
    [Fact]
    public async Task Redis_restarted_empty_mid_generation_gets_each_stream_rewritten_and_a_reader_sees_every_index_once()
    {
        await using var redis = await OwnRedis.StartAsync();
        await using var readerConnection = await redis.ConnectAsync();
        var names = new TestNames("redisloss");
        var client = new ForeignClient(servers, names, readerConnection);
        var log = new CapturingLogger("worker");
        await using var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 10, redisConfiguration: redis.Configuration, log: log);
        var requests = Enumerable.Range(0, 4).Select(i => new GenerationRequest { RequestId = $"loss-{i}", Prompt = $"lost {i}", MaxTokens = 150, Seed = 70 + i, IgnoreEos = true }).ToList();
        var readers = requests.Select(r => new HighestIndexReader(readerConnection, names.Stream(r.RequestId))).ToList();
        var reading = readers.Select(r => r.RunAsync(TimeSpan.FromSeconds(90))).ToList();
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(requests[0].RequestId)).Count(e => e["type"] == "token") >= 30);
        await redis.RestartEmptyAsync();
        await Task.WhenAll(reading);

        for (int i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            int[] expected = ContractGuaranteeTests.ExpectedTokens(r, worker.Engine);
            string expectedText = string.Concat(expected.Select(t => t == FakeEngine.EosId ? string.Empty : FakeEngine.TextOf(t)));

            // The reader: every index once, in order, the tokens and text of an uninterrupted run.
            var reader = readers[i];
            Assert.Equal(0, reader.Holes);
            Assert.Equal(Enumerable.Range(0, expected.Length), reader.Accepted.Select(a => a.Index));
            Assert.Equal(expected, reader.Accepted.Select(a => a.TokenId));
            Assert.Equal(expectedText, string.Concat(reader.Accepted.Select(a => a.Text)));
            Assert.Equal("done", reader.Terminal!["type"]);
            Assert.Equal(expectedText, reader.Terminal["text"]);
            Assert.True(reader.Skipped > 0, $"{r.RequestId}: the rewritten stream repeated no index the reader had (was it rewritten at all?)");

            // What Redis holds now is a whole stream written after the restart: the restore's start
            // entry (resume_index 0), every token from index 0, one done.
            var after = await client.ReadAsync(r.RequestId);
            Assert.Equal(expected, StreamChecks.AssertWellFormed(after));
            var start = Assert.Single(after, e => e["type"] == "start");
            Assert.Equal("0", start["resume_index"]);
            Assert.Equal(worker.Runtime.WorkerName, start["worker"]);
        }

        // The worker said what happened, once per request, and counted the repairs.
        Assert.Equal(requests.Count, log.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("lost its stream state", StringComparison.Ordinal)));
        Assert.Equal(requests.Count, MetricsText.Sum(MetricsText.Of(worker), "folio_streams_repaired_total"));
        Assert.Equal(requests.Count, worker.Engine.Submitted);
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }
}
