using System.Globalization;
using System.Net;
using Folio.Worker.Tests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Folio.Worker.Tests.Faults;

/// <summary>
/// Redis at maxmemory with noeviction (the test's own redis-server, filled past its limit) under two
/// real worker processes: requests wait, nothing is answered or dead-lettered meanwhile, the workers
/// report not ready and log the condition, not every message; once maxmemory is raised, every request
/// finishes with a whole, valid stream.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedisOutOfMemoryTests(ServersFixture servers, TestModelFixture model, ITestOutputHelper output) : IClassFixture<TestModelFixture>
{
    private const int Tokens = 24;

    /// <summary>How long the test watches the workers while Redis refuses writes.</summary>
    private static readonly TimeSpan Refusing = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Requests_wait_while_redis_is_out_of_memory_and_all_finish_once_maxmemory_is_raised()
    {
        await using var redis = await OwnRedis.StartAsync("--maxmemory-policy", "noeviction");
        await using var admin = await redis.ConnectAsync();
        var names = new TestNames("oom");
        var client = new ForeignClient(servers, names, admin);
        var extra = new Dictionary<string, string> { ["Folio__Redis__Configuration"] = redis.Configuration, ["Folio__Engine__MaxNumSeqs"] = "4" };
        await using var a = WorkerProcess.Start(servers, names, model.Path, "oom-a", extra);
        await using var b = WorkerProcess.Start(servers, names, model.Path, "oom-b", extra);
        await a.WaitConsumingAsync();
        await b.WaitConsumingAsync();
        var workers = new[] { a, b };
        using var http = new HttpClient();
        foreach (var w in workers)
        {
            await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(w.Log.Contains("HTTP endpoint (/metrics", StringComparison.Ordinal)));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(w.HttpBase + "/readyz")).StatusCode);
        }

        await FillPastTheLimitAsync(admin);

        // Valid and invalid alike: the invalid ones need a write too (their error entry).
        var valid = Enumerable.Range(0, 12).Select(i => $"oom-{i}").ToList();
        var invalid = Enumerable.Range(0, 3).Select(i => $"oom-bad-{i}").ToList();
        for (int i = 0; i < valid.Count; i++)
        {
            await client.PublishAsync($$"""{"request_id":"{{valid[i]}}","prompt":"memory {{i}}","max_tokens":{{Tokens}},"seed":{{i}},"ignore_eos":true}""");
            if (i < invalid.Count)
            {
                await client.PublishAsync($$"""{"request_id":"{{invalid[i]}}","prompt":"memory","top_p":5}""");
            }
        }

        // Both workers get deliveries, meet the refusal and report not ready.
        await ContractGuaranteeTests.WaitUntil(async () => await NotReadyAsync(http, a) && await NotReadyAsync(http, b), 60);
        int[] linesBefore = [.. workers.Select(w => w.LineCount)];
        var watchUntil = DateTime.UtcNow + Refusing;
        while (DateTime.UtcNow < watchUntil)
        {
            // Nothing answered, nothing dead-lettered, nobody died: the requests wait.
            foreach (var id in valid.Concat(invalid))
            {
                Assert.DoesNotContain(await client.ReadAsync(id), e => e["type"] is "done" or "error");
            }

            Assert.Equal(0u, await client.MessageCountAsync(names.ErrorQueue));
            Assert.All(workers, w => Assert.False(w.HasExited, "a worker died: " + w.Log));
            await Task.Delay(500);
        }

        foreach (var w in workers)
        {
            Assert.True(await NotReadyAsync(http, w), "ready while Redis refuses writes:\n" + w.Log);
            string metrics = await http.GetStringAsync(w.HttpBase + "/metrics");
            Assert.Equal(0, MetricsText.Sum(metrics, "folio_redis_writable"));
            Assert.Equal(0, MetricsText.Sum(metrics, "folio_messages_dead_lettered_total"));
        }

        // The condition is logged when it starts and then once per interval: never per message or per retry.
        int[] logged = [.. workers.Select((w, i) => w.LineCount - linesBefore[i])];
        output.WriteLine($"log lines while Redis refused writes for {Refusing.TotalSeconds} s: {string.Join(", ", logged)} (workers a, b)");
        Assert.True(logged.All(n => n <= 4), $"log lines while refusing for {Refusing.TotalSeconds} s: {string.Join(", ", logged)}\n{a.Log}\n{b.Log}");
        Assert.Contains("out of memory", a.Log + b.Log, StringComparison.Ordinal);

        await admin.GetServer(admin.GetEndPoints()[0]).ConfigSetAsync("maxmemory", "0");

        foreach (var id in valid)
        {
            var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(120));
            Assert.Equal(Tokens, StreamChecks.AssertWellFormed(entries).Length);
        }

        foreach (var id in invalid)
        {
            var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(60));
            StreamChecks.AssertWellFormed(entries, expectTerminal: "error");
            Assert.Equal("invalid_request", entries[^1]["code"]);
            Assert.Contains("top_p", entries[^1]["message"], StringComparison.Ordinal);
        }

        await ContractGuaranteeTests.WaitUntil(async () => !await NotReadyAsync(http, a) && !await NotReadyAsync(http, b), 30);
        Assert.Equal(0u, await client.MessageCountAsync(names.ErrorQueue));
        await ContractGuaranteeTests.WaitUntil(async () => await client.MessageCountAsync(names.RequestQueue) == 0);
        Assert.Contains("accepts writes again", a.Log + b.Log, StringComparison.Ordinal);
    }

    private static async Task<bool> NotReadyAsync(HttpClient http, WorkerProcess w) =>
        (await http.GetAsync(w.HttpBase + "/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable;

    /// <summary>Writes a few MB of filler, then sets maxmemory below what Redis uses: with noeviction every write is refused (OOM), reads still work.</summary>
    private static async Task FillPastTheLimitAsync(ConnectionMultiplexer admin)
    {
        var db = admin.GetDatabase();
        var filler = new byte[64 * 1024];
        for (int i = 0; i < 64; i++)
        {
            await db.StringSetAsync("filler:" + i.ToString(CultureInfo.InvariantCulture), filler);
        }

        var server = admin.GetServer(admin.GetEndPoints()[0]);
        long used = UsedMemory(await server.InfoAsync("memory"));
        await server.ConfigSetAsync("maxmemory", (used / 2).ToString(CultureInfo.InvariantCulture));
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => db.StringSetAsync("probe", "x"));
        Assert.StartsWith("OOM", refused.Message, StringComparison.Ordinal);
    }

    private static long UsedMemory(IGrouping<string, KeyValuePair<string, string>>[] info) =>
        long.Parse(info.SelectMany(g => g).First(kv => kv.Key == "used_memory").Value, CultureInfo.InvariantCulture);
}
