using Folio.Contracts;
using Folio.Worker.Options;
using Folio.Worker.Output;

namespace Folio.Worker.Tests.Batches;

/// <summary>The batch hash's counts against real Redis: once per request, from the stream's own ending, with the batch TTL.</summary>
[Collection(ServersCollection.Name)]
public sealed class BatchCounterTests(ServersFixture servers)
{
    [Fact]
    public async Task A_request_counted_again_after_a_crash_or_a_redelivery_is_counted_once_by_its_streams_ending()
    {
        var names = new TestNames("counter");
        var store = new StreamStore(servers.Redis, names.StreamPrefix, 60, batchTtlSeconds: 86400);
        var db = servers.Redis.GetDatabase();
        var done = store.Keys("r-done");
        var failed = store.Keys("r-failed");
        var running = store.Keys("r-running");
        await db.StreamAddAsync(done.Stream, [new("type", "start"), new("worker", "w")]);
        await db.StreamAddAsync(done.Stream, [new("type", "done"), new("finish_reason", "length"), new("text", "x")]);
        Assert.True(await store.FailAsync(failed, ErrorCodes.PromptTooLong, "too long", store.TtlFor(new GenerationRequest { RequestId = "r-failed", Prompt = "p", BatchId = "b1" })));
        await db.StreamAddAsync(running.Stream, [new("type", "start"), new("worker", "w")]);

        // The worker that wrote done counts it; the redelivery after its crash finds the stream ended and counts again.
        Assert.True(await store.Batches.CountAsync("b1", "r-done", failed: false));
        Assert.True(await store.Batches.EnsureCountedAsync(done, "b1", "r-done"));
        Assert.False(await store.Batches.CountAsync("b1", "r-done", failed: false));
        // A worker that died between the error entry and the count: the next delivery counts it, once.
        Assert.True(await store.Batches.EnsureCountedAsync(failed, "b1", "r-failed"));
        Assert.True(await store.Batches.EnsureCountedAsync(failed, "b1", "r-failed"));
        // A stream without a terminal entry is not counted.
        Assert.False(await store.Batches.EnsureCountedAsync(running, "b1", "r-running"));

        var hash = await db.HashGetAllAsync(BatchKeys.Hash(names.StreamPrefix, "b1"));
        Assert.Equal([("done", "1"), ("failed", "1")], hash.Select(e => ((string)e.Name!, (string)e.Value!)).Order());
        Assert.Equal(2, await db.HashLengthAsync(BatchKeys.Counted(names.StreamPrefix, "b1")));
        Assert.True(await db.KeyTimeToLiveAsync(BatchKeys.Hash(names.StreamPrefix, "b1")) > TimeSpan.FromSeconds(3600));
        Assert.True(await db.KeyTimeToLiveAsync(failed.Stream) > TimeSpan.FromSeconds(3600), "a batch request's error stream keeps the batch TTL");
        Assert.Equal(60, store.TtlFor(new GenerationRequest { RequestId = "plain", Prompt = "p" }));
    }

    [Fact]
    public void Batch_keys_share_the_batch_hash_slot_and_request_ids_never_collide()
    {
        string hash = BatchKeys.Hash("folio:stream:", "nightly");
        Assert.Equal("folio:stream:~batch:nightly", hash);
        Assert.Equal("{folio:stream:~batch:nightly}~counted", BatchKeys.Counted("folio:stream:", "nightly"));
        Assert.Equal(servers.Redis.HashSlot(hash), servers.Redis.HashSlot(BatchKeys.Counted("folio:stream:", "nightly")));
        Assert.Equal(servers.Redis.HashSlot(hash), servers.Redis.HashSlot(BatchKeys.Requests("folio:stream:", "nightly")));
        Assert.NotEqual(BatchKeys.RequestId("a.b", "c"), BatchKeys.RequestId("a", "b.c"));
        Assert.Equal("b7.nightly.q-1", BatchKeys.RequestId("nightly", "q-1"));
        string longId = BatchKeys.RequestId(new string('b', 100), new string('c', 100));
        Assert.True(RequestIdRules.IsValid(longId));
        Assert.StartsWith("bh.", longId, StringComparison.Ordinal);
        Assert.NotEqual(longId, BatchKeys.RequestId(new string('b', 100), new string('c', 99)));
    }

    [Fact]
    public void A_batch_ttl_below_one_second_is_refused_at_start_naming_the_key()
    {
        var refused = new RedisOptionsValidator().Validate(null, new RedisOptions { Configuration = "h:1", BatchTtlSeconds = 0 });
        Assert.True(refused.Failed);
        Assert.Contains("Folio:Redis:BatchTtlSeconds must be >= 1", refused.FailureMessage, StringComparison.Ordinal);
        Assert.Equal(604800, new RedisOptions().BatchTtlSeconds);
    }
}
