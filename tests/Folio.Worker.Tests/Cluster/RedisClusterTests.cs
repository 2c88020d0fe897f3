using Folio.Contracts;
using Folio.Worker.Tests.Support;
using StackExchange.Redis;

namespace Folio.Worker.Tests.Cluster;

/// <summary>
/// Folio on a Redis Cluster (three primaries, three replicas, real redis-server processes started
/// once for the class): Folio:Redis:Configuration names every node, the contract's guarantees hold
/// as on one Redis, and a primary that dies (SIGKILL, its replica promoted) costs no request and no
/// index, with and without Folio:Redis:WaitReplicas, also when the failover loses writes.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedisClusterTests(ServersFixture servers, RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>
{
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(30);

    private static string Json(GenerationRequest r) => $$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":{{r.MaxTokens}},"seed":{{r.Seed}},"ignore_eos":{{(r.IgnoreEos ? "true" : "false")}}}""";

    /// <summary>What the worker said, for a failure message.</summary>
    private static string DebugLog(Folio.Testing.CapturingLogger log) => " log: " + string.Join(" || ", log.Entries.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Information).Select(l => l.Message));

    private static string ExpectedText(int[] tokens) => string.Concat(tokens.Select(t => t == FakeEngine.EosId ? string.Empty : FakeEngine.TextOf(t)));

    [Fact]
    public async Task Every_request_gets_a_well_formed_stream_on_a_redis_cluster_with_its_keys_in_the_streams_slot()
    {
        var names = new TestNames("cluster");
        var client = new ForeignClient(servers, names, cluster.Admin);
        await using var worker = await InProcessWorker.StartAsync(servers, names, redisConfiguration: cluster.Configuration, ttlSeconds: 900);
        var requests = Enumerable.Range(0, 12).Select(i => new GenerationRequest { RequestId = $"req-{i}", Prompt = $"prompt number {i}", MaxTokens = 5 + i, Seed = i, IgnoreEos = i % 2 == 0 }).ToList();
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await client.PublishAsync("""{"request_id":"bad-top-p","prompt":"abc","top_p":7}""");

        var db = cluster.Admin.GetDatabase();
        var primaries = new HashSet<int>();
        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(20));
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, worker.Engine), StreamChecks.AssertWellFormed(entries));
            Assert.Equal("1", entries[0]["attempt"]);

            // The state hash lives in its stream's hash slot, under the cluster-safe name; TTL as the stream's.
            RedisKey stream = names.Stream(r.RequestId);
            RedisKey state = StreamKeyNames.State(names.StreamPrefix, r.RequestId);
            Assert.Equal(await cluster.KeySlotAsync(stream!), await cluster.KeySlotAsync(state!));
            Assert.True(await db.KeyExistsAsync(state), $"{state} missing");
            Assert.InRange((await db.KeyTimeToLiveAsync(stream))!.Value.TotalSeconds, 800, 900);
            primaries.Add(await cluster.PrimaryOfAsync(stream));
        }

        // Twelve streams over three primaries: every primary took scripts (a single node would prove nothing).
        Assert.Equal(3, primaries.Count);
        StreamChecks.AssertWellFormed(await client.WaitTerminalAsync("bad-top-p", TimeSpan.FromSeconds(20)), expectTerminal: "error");

        // The registration hash (one key, any slot) is written too.
        await ContractGuaranteeTests.WaitUntil(async () => (await db.HashGetAllAsync(names.StreamPrefix + "~workers")).Any(e => e.Name == worker.Runtime.WorkerName));
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }

    [Fact]
    public async Task Every_key_of_one_request_hashes_to_its_streams_slot_on_a_real_cluster()
    {
        const string prefix = "folio:stream:";
        foreach (string id in (string[])["abc-1", "x", "Z.9_:-", new string('q', 128)])
        {
            int slot = await cluster.KeySlotAsync(StreamKeyNames.Stream(prefix, id));
            Assert.Equal(slot, await cluster.KeySlotAsync(StreamKeyNames.State(prefix, id)));
            Assert.Equal(slot, await cluster.KeySlotAsync(StreamKeyNames.Cancel(prefix, id)));
            Assert.Equal(slot, await cluster.KeySlotAsync(StreamKeyNames.GatewayMarker(prefix, id)));
        }

        // The names before version 2 were in another slot: a script over them and the stream was CROSSSLOT.
        Assert.NotEqual(await cluster.KeySlotAsync(StreamKeyNames.Stream(prefix, "abc-1")), await cluster.KeySlotAsync(StreamKeyNames.LegacyState(prefix, "abc-1")));
    }

    [Fact]
    public async Task Cancel_during_generation_and_before_the_take_finish_with_abort_on_a_redis_cluster()
    {
        var names = new TestNames("clcancel");
        var client = new ForeignClient(servers, names, cluster.Admin);
        // One sequence at a time: the second request waits in the queue while the first runs.
        await using var worker = await InProcessWorker.StartAsync(servers, names, maxNumSeqs: 1, stepDelayMs: 10, redisConfiguration: cluster.Configuration);
        await client.PublishAsync("""{"request_id":"first","prompt":"busy","max_tokens":400,"ignore_eos":true}""");
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync("first")).Count(e => e["type"] == "token") >= 3);
        await client.PublishAsync("""{"request_id":"second","prompt":"later","max_tokens":50,"ignore_eos":true}""");
        await client.CancelAsync("second");

        // The cancel of a request no worker holds is remembered in the stream's slot.
        RedisKey marker = StreamKeyNames.Cancel(names.StreamPrefix, "second");
        await ContractGuaranteeTests.WaitUntil(() => cluster.Admin.GetDatabase().KeyExistsAsync(marker));
        Assert.Equal(await cluster.KeySlotAsync(names.Stream("second")), await cluster.KeySlotAsync(marker!));
        Assert.Empty(await client.ReadAsync("second"));

        await client.CancelAsync("first");
        var first = await client.WaitTerminalAsync("first", TimeSpan.FromSeconds(20));
        StreamChecks.AssertWellFormed(first);
        Assert.Equal("abort", first[^1]["finish_reason"]);

        var second = await client.WaitTerminalAsync("second", TimeSpan.FromSeconds(20));
        StreamChecks.AssertWellFormed(second);
        Assert.Equal("abort", second[^1]["finish_reason"]);
        Assert.Equal("0", second[^1]["completion_tokens"]);
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }

    [Fact]
    public async Task A_crashed_workers_requests_are_resumed_with_identical_tokens_on_a_redis_cluster()
    {
        var names = new TestNames("clresume");
        var client = new ForeignClient(servers, names, cluster.Admin);
        var requests = Enumerable.Range(0, 6).Select(i => new GenerationRequest { RequestId = $"crash-{i}", Prompt = $"p{i}", MaxTokens = 60, Seed = 100 + i, IgnoreEos = true }).ToList();
        var first = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 15, redisConfiguration: cluster.Configuration);
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync("crash-0")).Count(e => e["type"] == "token") >= 10);
        await first.CrashAsync();
        await using var second = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 1, redisConfiguration: cluster.Configuration);
        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(30));
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, second.Engine), StreamChecks.AssertWellFormed(entries));
        }

        var starts = (await client.ReadAsync("crash-0")).Where(e => e["type"] == "start").ToList();
        Assert.Equal(2, starts.Count);
        Assert.Equal("2", starts[1]["attempt"]);
        Assert.NotEqual("0", starts[1]["resume_index"]);
        await second.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }

    /// <summary>
    /// The primary that holds a running request's stream is SIGKILLed; its replica is promoted; the
    /// worker waits the outage out holding its tokens, finds the new primary (scripts loaded again
    /// there: a promoted replica has no script cache) and finishes every request. With WaitReplicas
    /// the killed node must come back as a replica of the new primary before the worker goes on,
    /// because the promoted primary has no replica to acknowledge WAIT.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_primary_killed_mid_run_costs_no_request_and_no_index(int waitReplicas)
    {
        var names = new TestNames("clkill" + waitReplicas);
        var client = new ForeignClient(servers, names, cluster.Admin);
        await using var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 10, redisConfiguration: cluster.Configuration, redisOptions: o => o.WaitReplicas = waitReplicas);
        var requests = Enumerable.Range(0, 9).Select(i => new GenerationRequest { RequestId = $"kill-{i}", Prompt = $"kill {i}", MaxTokens = 300, Seed = 40 + i, IgnoreEos = true }).ToList();
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(requests[0].RequestId)).Count(e => e["type"] == "token") >= 20);
        int victim = await cluster.PrimaryOfAsync(names.Stream(requests[0].RequestId));
        cluster.Kill(victim);
        await cluster.WaitPromotedAsync(victim, FailoverTimeout);
        await cluster.RestartAsReplicaAsync(victim, FailoverTimeout);

        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(60));
            int[] expected = ContractGuaranteeTests.ExpectedTokens(r, worker.Engine);
            Assert.Equal(expected, StreamChecks.AssertWellFormed(entries));
            Assert.Equal(ExpectedText(expected), entries[^1]["text"]);
        }

        // Nothing was handed back or recomputed: the worker held every request through the outage.
        Assert.Equal(requests.Count, worker.Engine.Submitted);
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
        await cluster.WaitHealthyAsync(FailoverTimeout);
    }

    /// <summary>
    /// A failover that loses writes: the replica is stopped and cut off from its primary, the worker
    /// goes on writing to the primary (with WaitReplicas those writes are never treated as written:
    /// WAIT times out and the flush is retried), then the primary is SIGKILLed and the stale replica
    /// promoted. The worker finds the streams behind what it wrote (the append script's gap or lost
    /// status) and rewrites them from its memory: the final streams hold indices 0..n-1 once each
    /// with the uninterrupted text, and a reader that kept its highest index saw every index once.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_failover_that_loses_writes_is_repaired_from_the_workers_memory(int waitReplicas)
    {
        var names = new TestNames("clloss" + waitReplicas);
        var client = new ForeignClient(servers, names, cluster.Admin);
        var log = new Folio.Testing.CapturingLogger("worker");
        await using var worker = await InProcessWorker.StartAsync(servers, names, stepDelayMs: 10, redisConfiguration: cluster.Configuration, redisOptions: o => o.WaitReplicas = waitReplicas, log: log);
        var requests = Enumerable.Range(0, 6).Select(i => new GenerationRequest { RequestId = $"loss-{i}", Prompt = $"loss {i}", MaxTokens = 500, Seed = 70 + i, IgnoreEos = true }).ToList();
        var readers = requests.Select(r => new HighestIndexReader(cluster.Admin, names.Stream(r.RequestId))).ToList();
        var reading = readers.Select(r => r.RunAsync(TimeSpan.FromSeconds(90))).ToList();
        foreach (var r in requests)
        {
            await client.PublishAsync(Json(r));
        }

        string lossId = requests[0].RequestId;
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(lossId)).Count(e => e["type"] == "token") >= 10);
        int primary = await cluster.PrimaryOfAsync(names.Stream(lossId));
        int replica = await cluster.ReplicaOfAsync(primary);
        await cluster.SignalAsync(replica, "STOP");
        await RedisClusterFixture.CutReplicasAsync(primary);
        int cutAt = (await client.ReadAsync(lossId)).Count(e => e["type"] == "token");

        // Writes only the primary holds, and the reader of the cut stream has read some of them (on a
        // loaded machine the polling reader can lag the writer; it must hold entries the failover loses).
        await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(lossId)).Count(e => e["type"] == "token") >= cutAt + 30);
        await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(readers[0].HighestIndex >= cutAt + 20));
        cluster.Kill(primary);
        await cluster.SignalAsync(replica, "CONT");
        await cluster.WaitPromotedAsync(primary, FailoverTimeout);
        await cluster.RestartAsReplicaAsync(primary, FailoverTimeout);

        await Task.WhenAll(reading);
        for (int i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            int[] expected = ContractGuaranteeTests.ExpectedTokens(r, worker.Engine);
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(30));
            try
            {
                StreamChecks.AssertWellFormed(entries);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"{r.RequestId} (cut primary {primary}, its slot's primary now " + await cluster.PrimaryOfAsync(names.Stream(r.RequestId)) + "): " + string.Join(" | ", entries.Take(40).Select(x => x["type"] + (x.TryGetValue("index", out var ix) ? ix : x.TryGetValue("resume_index", out var ri) ? "r" + ri : string.Empty))) + DebugLog(log), e);
            }

            Assert.Equal(expected, StreamChecks.AssertWellFormed(entries));
            Assert.Equal(ExpectedText(expected), entries[^1]["text"]);

            var reader = readers[i];
            Assert.Equal(0, reader.Holes);
            Assert.Equal(Enumerable.Range(0, expected.Length), reader.Accepted.Select(a => a.Index));
            Assert.Equal(ExpectedText(expected), string.Concat(reader.Accepted.Select(a => a.Text)));
        }

        // The lost entries were written again from memory (not recomputed), and the reader of the cut
        // stream, which had read some of them, skipped them the second time.
        Assert.True(readers[0].Skipped > 0, "the reader of the cut stream skipped nothing: were the lost entries ever read and rewritten? " + DebugLog(log));
        double repaired = MetricsText.Sum(MetricsText.Of(worker), "folio_streams_repaired_total");
        if (waitReplicas == 0)
        {
            // The worker had counted them as written: the new primary's gap (or lost state) told it otherwise.
            Assert.True(repaired >= 1, "no stream was repaired: did the failover lose nothing? " + DebugLog(log));
        }
        else
        {
            // WAIT never confirmed them, so the worker never counted them as written: it simply sent them again.
            Assert.Equal(0, repaired);
        }

        Assert.Equal(requests.Count, worker.Engine.Submitted);
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
        await cluster.WaitHealthyAsync(FailoverTimeout);
    }
}
