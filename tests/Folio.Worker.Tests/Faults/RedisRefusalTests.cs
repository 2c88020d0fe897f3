using Folio.Testing;
using Folio.Worker.Tests.Support;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Folio.Worker.Tests.Faults;

/// <summary>
/// Redis refusing the worker for reasons only an operator can fix (its own redis-server each time):
/// a replica that answers READONLY until it is promoted, an ACL user without EVAL (NOPERM) until it is
/// granted, a wrong password until the server takes it. Each time the worker says so in words that
/// name the fix, once (not per message), reports not ready, answers nothing and dead-letters nothing
/// while it lasts, and serves every request once it passes.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RedisRefusalTests(ServersFixture servers)
{
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_read_only_replica_is_waited_out_until_it_is_promoted()
    {
        // A replica of a primary that does not exist: it serves reads and refuses writes with READONLY.
        await using var redis = await OwnRedis.StartAsync("--replicaof", "127.0.0.1", "1");
        await RefusedThenServedAsync(redis, redis.Configuration, "READONLY", async admin => await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("REPLICAOF", "NO", "ONE"));
    }

    [Fact]
    public async Task A_user_without_permission_to_run_scripts_is_waited_out_until_it_is_granted()
    {
        await using var redis = await OwnRedis.StartAsync();
        await using (var setup = await redis.ConnectAsync())
        {
            await setup.GetServer(setup.GetEndPoints()[0]).ExecuteAsync("ACL", "SETUSER", "folio", "on", ">folio-pw", "~*", "&*", "+@all", "-eval", "-evalsha");
        }

        await RefusedThenServedAsync(redis, redis.Configuration + ",user=folio,password=folio-pw", "NOPERM", async admin => await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("ACL", "SETUSER", "folio", "+eval", "+evalsha"));
    }

    [Fact]
    public async Task A_wrong_password_is_reported_and_waited_out_until_the_server_accepts_it()
    {
        await using var redis = await OwnRedis.StartAsync("--requirepass", "right-pw");
        await RefusedThenServedAsync(redis, redis.Configuration + ",password=wrong-pw,connectTimeout=1000", "credentials", async admin => await admin.GetServer(admin.GetEndPoints()[0]).ConfigSetAsync("requirepass", "wrong-pw"), adminPassword: "right-pw");
    }

    /// <param name="workerConfiguration">What the worker connects with.</param>
    /// <param name="named">Text the worker's log must use for the condition.</param>
    /// <param name="fix">What the operator does; every request must then finish.</param>
    private async Task RefusedThenServedAsync(OwnRedis redis, string workerConfiguration, string named, Func<ConnectionMultiplexer, Task> fix, string? adminPassword = null)
    {
        var options = ConfigurationOptions.Parse(redis.Configuration);
        options.AbortOnConnectFail = false;
        options.AllowAdmin = true;
        options.Password = adminPassword;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(options);
        var names = new TestNames("refused");
        var client = new ForeignClient(servers, names, admin);
        var log = new CapturingLogger("worker");
        await using var worker = await InProcessWorker.StartAsync(servers, names, maxTokensCap: 100, log: log, redisConfiguration: workerConfiguration);
        string[] valid = ["refused-0", "refused-1", "refused-2"];
        foreach (var id in valid)
        {
            await client.PublishAsync($$"""{"request_id":"{{id}}","prompt":"wait for me","max_tokens":5,"ignore_eos":true}""");
        }

        await client.PublishAsync("""{"request_id":"refused-bad","prompt":"x","top_p":9}""");

        await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(!worker.Runtime.IsReady && !worker.Runtime.RedisHealthy));
        int linesBefore = log.Entries.Count;
        var until = DateTime.UtcNow + Watch;
        while (DateTime.UtcNow < until)
        {
            Assert.False(worker.Runtime.IsReady);
            foreach (var id in valid.Append("refused-bad"))
            {
                Assert.Empty(await client.ReadAsync(id));
            }

            Assert.Equal(0u, await client.MessageCountAsync(names.ErrorQueue));
            await Task.Delay(200);
        }

        // Said once, in words naming the fix, at Error; then nothing per message or per retry. What
        // may still come once inside the watch is the heartbeat's failure, the pause, and the answer
        // to a message taken just before the refusal was seen (a loaded run logged all three): at
        // most three lines, none of them twice.
        var said = log.Entries.Where(e => e.Level == LogLevel.Error && e.Message.Contains(named, StringComparison.Ordinal)).ToList();
        Assert.True(said.Count >= 1, $"the worker never said '{named}':\n" + string.Join('\n', log.Entries.Select(e => e.Message)));
        var watched = log.Entries.Skip(linesBefore).Select(e => e.Message).ToList();
        Assert.True(watched.Count <= 3 && watched.Distinct().Count() == watched.Count, $"{watched.Count} log lines in {Watch.TotalSeconds} s while refused:\n" + string.Join('\n', watched));
        Assert.Equal(0, worker.Engine.Submitted);

        await fix(admin);

        foreach (var id in valid)
        {
            Assert.Equal(5, StreamChecks.AssertWellFormed(await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(30))).Length);
        }

        var bad = await client.WaitTerminalAsync("refused-bad", TimeSpan.FromSeconds(30));
        Assert.Equal("invalid_request", bad[^1]["code"]);
        await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(worker.Runtime.IsReady));
        Assert.Contains(log.Entries, e => e.Message.Contains("accepts writes again", StringComparison.Ordinal));
        Assert.Equal(0u, await client.MessageCountAsync(names.ErrorQueue));
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }
}
