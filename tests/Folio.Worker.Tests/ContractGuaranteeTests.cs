using Folio.Contracts;

namespace Folio.Worker.Tests;

/// <summary>docs/contract.md section 2, checked by a foreign client (raw publishes, raw stream reads) against a worker with a stand-in engine.</summary>
[Collection(ServersCollection.Name)]
public sealed class ContractGuaranteeTests(ServersFixture servers)
{
    [Fact]
    public async Task Every_request_gets_a_well_formed_stream_with_the_reference_tokens()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        var requests = Enumerable.Range(0, 12).Select(i => new GenerationRequest { RequestId = $"req-{i}", Prompt = $"prompt number {i}", MaxTokens = 5 + i, Seed = i, IgnoreEos = i % 2 == 0 }).ToList();
        foreach (var r in requests)
        {
            await client.PublishAsync($$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":{{r.MaxTokens}},"seed":{{r.Seed}},"ignore_eos":{{(r.IgnoreEos ? "true" : "false")}}}""");
        }

        foreach (var r in requests)
        {
            var entries = await client.WaitTerminalAsync(r.RequestId, TimeSpan.FromSeconds(20));
            int[] ids = StreamChecks.AssertWellFormed(entries);
            Assert.Equal(ExpectedTokens(r, worker.Engine), ids);
            Assert.Equal("start", entries[0]["type"]);
            Assert.Equal("1", entries[0]["attempt"]);
            Assert.Equal(r.Prompt!.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), entries[^1]["prompt_tokens"]);
        }

        // 5. acknowledged: nothing comes back to the queue once the worker is gone.
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }

    [Fact]
    public async Task Stream_expires_the_configured_ttl_after_its_last_write()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names, ttlSeconds: 120);
        await client.PublishAsync("""{"request_id":"ttl-1","prompt":"abc","max_tokens":3}""");
        await client.WaitTerminalAsync("ttl-1", TimeSpan.FromSeconds(10));
        var ttl = await servers.Redis.GetDatabase().KeyTimeToLiveAsync(names.Stream("ttl-1"));
        Assert.NotNull(ttl);
        Assert.InRange(ttl!.Value.TotalSeconds, 100, 120);

        // An error entry also carries the TTL.
        await client.PublishAsync("""{"request_id":"ttl-2","prompt":"abc","top_p":7}""");
        await client.WaitTerminalAsync("ttl-2", TimeSpan.FromSeconds(10));
        Assert.InRange((await servers.Redis.GetDatabase().KeyTimeToLiveAsync(names.Stream("ttl-2")))!.Value.TotalSeconds, 100, 120);
    }

    [Fact]
    public async Task A_request_whose_stream_has_ended_is_acknowledged_without_new_work()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        await client.PublishAsync("""{"request_id":"same","prompt":"abc","max_tokens":4,"ignore_eos":true}""");
        var first = await client.WaitTerminalAsync("same", TimeSpan.FromSeconds(10));
        await client.PublishAsync("""{"request_id":"same","prompt":"abc","max_tokens":4,"ignore_eos":true}""");
        await WaitUntil(async () => await client.MessageCountAsync(names.RequestQueue) == 0 && worker.Runtime.InFlightCount == 0);
        await Task.Delay(200);
        Assert.Equal(first.Count, (await client.ReadAsync("same")).Count);
        Assert.Equal(1, worker.Engine.Submitted);
    }

    [Fact]
    public async Task Publishing_to_the_exchange_named_like_the_queue_works()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        await client.PublishAsync("""{"request_id":"via-exchange","prompt":"abc","max_tokens":3}""", exchange: names.RequestQueue);
        StreamChecks.AssertWellFormed(await client.WaitTerminalAsync("via-exchange", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Stop_at_eos_finishes_with_stop_and_max_tokens_with_length()
    {
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        // Find a seed whose fake stream hits EOS early, computed from the reference function.
        var probe = new GenerationRequest { RequestId = "x", Prompt = "eos?", MaxTokens = 50 };
        int[] prompt = FakeEngine.Tokenize("eos?");
        long seed = Enumerable.Range(0, 100000).First(s => Enumerable.Range(1, 20).Any(i => FakeEngine.TokenAt(probe with { Seed = s }, prompt, i) == FakeEngine.EosId));
        await client.PublishAsync($$"""{"request_id":"eos","prompt":"eos?","max_tokens":50,"seed":{{seed}}}""");
        await client.PublishAsync("""{"request_id":"len","prompt":"abc","max_tokens":3,"ignore_eos":true}""");
        var eos = await client.WaitTerminalAsync("eos", TimeSpan.FromSeconds(10));
        StreamChecks.AssertWellFormed(eos);
        Assert.Equal("stop", eos[^1]["finish_reason"]);
        var len = await client.WaitTerminalAsync("len", TimeSpan.FromSeconds(10));
        Assert.Equal("length", len[^1]["finish_reason"]);
        Assert.Equal("3", len[^1]["completion_tokens"]);
    }

    internal static int[] ExpectedTokens(GenerationRequest r, FakeEngine engine)
    {
        int[] prompt = r.PromptTokenIds?.ToArray() ?? FakeEngine.Tokenize(r.Prompt!);
        var list = new List<int>();
        for (int i = 0; i < r.MaxTokens; i++)
        {
            int t = FakeEngine.TokenAt(r, prompt, i);
            list.Add(t);
            if (t == FakeEngine.EosId && !r.IgnoreEos && i + 1 > r.MinTokens)
            {
                break;
            }
        }

        return [.. list];
    }

    internal static async Task WaitUntil(Func<Task<bool>> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met within " + seconds + " s");
            }

            await Task.Delay(50);
        }
    }
}
