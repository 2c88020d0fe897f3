using System.Globalization;
using System.Text;

namespace Folio.Worker.Tests;

/// <summary>
/// Real worker processes on the real engine (a tiny test model): SIGKILL mid-generation (repeated),
/// two processes on one queue, a message that crashes the worker on purpose.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class WorkerProcessTests(ServersFixture servers, TestModelFixture model) : IClassFixture<TestModelFixture>
{
    /// <summary>Seed 1 is left out of the message: the worker then derives the seed from the request id, which must resume just as well.</summary>
    private static string Json(string id, int maxTokens, int seed) => seed == 1
        ? $$"""{"request_id":"{{id}}","prompt":"The story number {{seed}} begins","max_tokens":{{maxTokens}},"temperature":0.9,"ignore_eos":true}"""
        : $$"""{"request_id":"{{id}}","prompt":"The story number {{seed}} begins","max_tokens":{{maxTokens}},"seed":{{seed}},"temperature":0.9,"ignore_eos":true}""";

    /// <summary>Long enough that three kills at 25, 50 and 75 tokens land mid-generation.</summary>
    private const int Tokens = 400;

    private static Dictionary<string, string> Slow => new() { ["Folio__Engine__MaxNumSeqs"] = "2" };

    [Fact]
    public async Task Workers_killed_with_sigkill_mid_generation_leave_streams_identical_to_an_uninterrupted_run()
    {
        var ids = Enumerable.Range(0, 8).Select(i => $"kill-{i}").ToList();

        // The uninterrupted reference, on its own queue and keys.
        var refNames = new TestNames("ref");
        var refClient = new ForeignClient(servers, refNames);
        var reference = new Dictionary<string, int[]>();
        await using (var w = WorkerProcess.Start(servers, refNames, model.Path, "ref"))
        {
            await w.WaitConsumingAsync();
            for (int i = 0; i < ids.Count; i++)
            {
                await refClient.PublishAsync(Json(ids[i], Tokens, i));
            }

            foreach (var id in ids)
            {
                reference[id] = StreamChecks.AssertWellFormed(await refClient.WaitTerminalAsync(id, TimeSpan.FromSeconds(120)));
                Assert.Equal(Tokens, reference[id].Length);
            }
        }

        var names = new TestNames("kill");
        var client = new ForeignClient(servers, names);
        int generation = 0;
        var worker = WorkerProcess.Start(servers, names, model.Path, "victim-0", Slow);
        await worker.WaitConsumingAsync();
        for (int i = 0; i < ids.Count; i++)
        {
            await client.PublishAsync(Json(ids[i], Tokens, i));
        }

        // Kill three times, each time once more tokens have been written, then let one worker finish.
        for (int kill = 1; kill <= 3; kill++)
        {
            int target = kill * 25;
            await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(ids[0])).Count(e => e["type"] == "token") >= target || (await client.ReadAsync(ids[0])).Any(e => e["type"] == "done"), 120);
            worker.Kill();
            await worker.DisposeAsync();
            worker = WorkerProcess.Start(servers, names, model.Path, $"victim-{++generation}", Slow);
            await worker.WaitConsumingAsync();
        }

        try
        {
            int resumed = 0;
            foreach (var id in ids)
            {
                var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(180));
                int[] tokens = StreamChecks.AssertWellFormed(entries);
                Assert.Equal(reference[id], tokens);
                var refText = string.Concat((await refClient.ReadAsync(id)).Where(e => e["type"] == "token").Select(e => e["text"]));
                Assert.Equal(refText, entries[^1]["text"]);
                resumed += entries.Count(e => e["type"] == "start" && e["resume_index"] != "0");
            }

            Assert.True(resumed >= 2, "expected resumed streams after the kills; got " + resumed);
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Http_port_minus_one_opens_no_port_and_zero_opens_one()
    {
        var names = new TestNames("http");
        await using (var off = WorkerProcess.Start(servers, names, ModelFixture.Path, "http-off", new Dictionary<string, string> { ["Folio__Worker__HttpPort"] = "-1" }))
        {
            await off.WaitConsumingAsync();
            await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(off.Log.Contains("HTTP endpoint off", StringComparison.Ordinal)));
            Assert.Empty(off.ListeningPorts());
        }

        await using var on = WorkerProcess.Start(servers, names, ModelFixture.Path, "http-on", new Dictionary<string, string> { ["Folio__Worker__HttpPort"] = "0", ["Folio__Worker__HttpBindAddress"] = "127.0.0.1" });
        await on.WaitConsumingAsync();
        await ContractGuaranteeTests.WaitUntil(() => Task.FromResult(on.Log.Contains("HTTP endpoint (/metrics", StringComparison.Ordinal)));
        Assert.Equal([new Uri(on.HttpBase).Port], on.ListeningPorts());
    }

    [Fact]
    public async Task Fault_injection_configured_without_the_environment_opt_in_stops_the_worker_at_start()
    {
        var names = new TestNames("nofault");
        await using var worker = WorkerProcess.Start(servers, names, ModelFixture.Path, "nofault", new Dictionary<string, string> { ["Folio__Worker__CrashOnRequestIdPrefix"] = "crash-me" });
        Assert.Equal(2, await worker.WaitExitAsync(60));
        Assert.Contains("FOLIO_ENABLE_FAULT_INJECTION", worker.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_worker_processes_on_one_queue_both_take_work_and_finish_everything()
    {
        var names = new TestNames("two");
        var client = new ForeignClient(servers, names);
        await using var a = WorkerProcess.Start(servers, names, ModelFixture.Path, "proc-a", Slow);
        await using var b = WorkerProcess.Start(servers, names, ModelFixture.Path, "proc-b", Slow);
        await a.WaitConsumingAsync();
        await b.WaitConsumingAsync();
        var ids = Enumerable.Range(0, 12).Select(i => $"two-{i}").ToList();
        for (int i = 0; i < ids.Count; i++)
        {
            await client.PublishAsync(Json(ids[i], 60, i));
        }

        var workers = new HashSet<string>();
        foreach (var id in ids)
        {
            var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(120));
            Assert.Equal(60, StreamChecks.AssertWellFormed(entries).Length);
            workers.UnionWith(entries.Where(e => e["type"] == "start").Select(e => e["worker"]));
        }

        Assert.Equal(new HashSet<string> { "proc-a", "proc-b" }, workers);

        // The operator's view: ready, and metrics in Prometheus text that count what was done.
        using var http = new HttpClient();
        long generated = 0;
        foreach (var w in new[] { a, b })
        {
            Assert.Equal("ready", await http.GetStringAsync(w.HttpBase + "/readyz"));
            Assert.Equal("ok", await http.GetStringAsync(w.HttpBase + "/healthz"));
            string metrics = await http.GetStringAsync(w.HttpBase + "/metrics");
            foreach (var name in new[] { "folio_num_requests_running", "folio_num_requests_waiting", "folio_kv_cache_usage_perc", "folio_num_preemptions_total", "folio_prompt_tokens_total", "folio_time_to_first_token_seconds_bucket", "folio_time_per_output_token_seconds_count", "folio_e2e_request_latency_seconds_sum", "folio_request_queue_time_seconds_count", "folio_prefix_cache_hits_total" })
            {
                Assert.Contains(name, metrics, StringComparison.Ordinal);
            }

            // One series per worker, labelled with the model it serves (as vLLM labels its series).
            var line = metrics.Split('\n').Single(l => l.StartsWith("folio_generation_tokens_total{", StringComparison.Ordinal));
            Assert.StartsWith("folio_generation_tokens_total{model_name=\"", line, StringComparison.Ordinal);
            generated += long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
        }

        Assert.Equal(12 * 60, generated);
    }

    [Fact]
    public async Task A_message_that_keeps_crashing_workers_gets_an_error_entry_and_goes_to_the_error_queue()
    {
        var names = new TestNames("poison");
        var client = new ForeignClient(servers, names);
        var extra = new Dictionary<string, string> { ["Folio__Worker__CrashOnRequestIdPrefix"] = "crash-me", ["Folio__RabbitMq__MaxDeliveries"] = "3", [Folio.Worker.Options.FaultInjection.EnvironmentVariable] = "1" };
        var good = Enumerable.Range(0, 4).Select(i => $"fine-{i}").ToList();
        var worker = WorkerProcess.Start(servers, names, ModelFixture.Path, "poisoned-0", extra);
        await worker.WaitConsumingAsync();
        await client.PublishAsync(Json(good[0], 30, 0));
        await client.PublishAsync(Json("crash-me-1", 30, 9));
        foreach (var id in good.Skip(1))
        {
            await client.PublishAsync(Json(id, 30, 1));
        }

        // A supervisor: restart the worker whenever it dies, until every stream has ended.
        int restarts = 0;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (true)
            {
                bool allDone = true;
                foreach (var id in good.Append("crash-me-1"))
                {
                    allDone &= (await client.ReadAsync(id)).Any(e => e["type"] is "done" or "error");
                }

                // The error entry is written before the message is moved to the error queue (a
                // publisher-confirmed write to a quorum queue): wait for that too before stopping the worker.
                allDone &= await client.MessageCountAsync(names.ErrorQueue) >= 1;

                if (allDone)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "streams did not end; worker log:\n" + worker.Log);
                if (worker.HasExited)
                {
                    await worker.DisposeAsync();
                    worker = WorkerProcess.Start(servers, names, ModelFixture.Path, $"poisoned-{++restarts}", extra);
                    await worker.WaitConsumingAsync();
                }

                await Task.Delay(100);
            }
        }
        finally
        {
            await worker.DisposeAsync();
        }

        var poison = await client.ReadAsync("crash-me-1");
        StreamChecks.AssertWellFormed(poison, expectTerminal: "error");
        Assert.Equal("internal", poison[^1]["code"]);
        Assert.Equal(3, poison.Count(e => e["type"] == "start")); // three deliveries crashed a worker each
        Assert.Equal(3, restarts);
        foreach (var id in good)
        {
            Assert.Equal(30, StreamChecks.AssertWellFormed(await client.ReadAsync(id)).Length);
        }

        var dead = await client.DrainQueueAsync(names.ErrorQueue);
        var moved = Assert.Single(dead);
        Assert.Equal("crash-me-1", Encoding.UTF8.GetString((byte[])moved.BasicProperties.Headers!["folio-request-id"]!));
    }

    private TestModelFixture ModelFixture => model;
}
