using Folio.Worker.Engine;
using Folio.Worker.Output;

namespace Folio.Worker.Tests;

/// <summary>The Lua scripts that keep streams correct when workers die: fencing, no index twice, safe retries.</summary>
[Collection(ServersCollection.Name)]
public sealed class StreamStoreTests(ServersFixture servers)
{
    private static TokenOutput T(int id) => new(id, $"t{id} ", null, null);

    private (StreamStore Store, StreamKeys Keys, ForeignClient Client) Setup(string id)
    {
        var names = new TestNames();
        var store = new StreamStore(servers.Redis, names.StreamPrefix, 600);
        return (store, store.Keys(id), new ForeignClient(servers, names));
    }

    [Fact]
    public async Task A_retried_append_after_a_lost_reply_writes_each_index_once()
    {
        var (store, keys, client) = Setup("retry");
        var take = await store.TakeAsync(keys, "owner-a", "w", 1, 3);
        Assert.Equal(0, take.NextIndex);
        var first = new AppendCommand(keys, "owner-a", 0, [T(5), T(6)], null);
        Assert.Equal(2L, (await store.AppendBatchAsync([first]))[0]);
        // The same write again (its reply was lost), then one overlapping it.
        Assert.Equal(2L, (await store.AppendBatchAsync([first]))[0]);
        Assert.Equal(3L, (await store.AppendBatchAsync([new AppendCommand(keys, "owner-a", 1, [T(6), T(7)], null)]))[0]);
        var entries = await client.ReadAsync("retry");
        Assert.Equal(["0", "1", "2"], entries.Where(e => e["type"] == "token").Select(e => e["index"]));
    }

    [Fact]
    public async Task A_fenced_owner_cannot_write_after_another_took_the_request()
    {
        var (store, keys, client) = Setup("fence");
        await store.TakeAsync(keys, "old", "w1", 1, 3);
        await store.AppendBatchAsync([new AppendCommand(keys, "old", 0, [T(1)], null)]);
        var take = await store.TakeAsync(keys, "new", "w2", 2, 3);
        Assert.Equal(1, take.NextIndex);
        Assert.Equal(AppendResult.Fenced, (await store.AppendBatchAsync([new AppendCommand(keys, "old", 1, [T(2)], null)]))[0]);
        Assert.Equal(2L, (await store.AppendBatchAsync([new AppendCommand(keys, "new", 1, [T(2)], null)]))[0]);
        var entries = await client.ReadAsync("fence");
        Assert.Equal(["start", "token", "start", "token"], entries.Select(e => e["type"]));
        Assert.Equal("1", entries[2]["resume_index"]);
    }

    [Fact]
    public async Task An_append_that_would_leave_a_gap_is_refused()
    {
        var (store, keys, _) = Setup("gap");
        await store.TakeAsync(keys, "o", "w", 1, 3);
        Assert.Equal(AppendResult.Gap, (await store.AppendBatchAsync([new AppendCommand(keys, "o", 2, [T(1)], null)]))[0]);
    }

    [Fact]
    public async Task Nothing_follows_a_terminal_entry_and_a_finished_stream_is_not_taken_again()
    {
        var (store, keys, client) = Setup("final");
        await store.TakeAsync(keys, "o", "w", 1, 3);
        KeyValuePair<string, string>[] done = [new("type", "done"), new("finish_reason", "length")];
        Assert.Equal(1L, (await store.AppendBatchAsync([new AppendCommand(keys, "o", 0, [T(1)], done)]))[0]);
        Assert.Equal(1L, (await store.AppendBatchAsync([new AppendCommand(keys, "o", 0, [T(1)], done)]))[0]); // retry: no second done
        Assert.True((await store.TakeAsync(keys, "o2", "w", 2, 3)).AlreadyFinished);
        Assert.False(await store.FailAsync(keys, "internal", "late"));
        Assert.Equal(["start", "token", "done"], (await client.ReadAsync("final")).Select(e => e["type"]));
    }

    [Fact]
    public async Task Resume_reads_back_the_token_ids_and_text_already_written()
    {
        var (store, keys, _) = Setup("resume");
        await store.TakeAsync(keys, "o", "w", 1, 3);
        await store.AppendBatchAsync([new AppendCommand(keys, "o", 0, [T(4), T(8), T(15)], null)]);
        var take = await store.TakeAsync(keys, "o2", "w", 2, 3);
        var resume = await store.ReadResumeAsync(keys, take.NextIndex);
        Assert.Equal([4, 8, 15], resume.TokenIds);
        Assert.Equal("t4 t8 t15 ", resume.Text);
    }

    [Fact]
    public async Task Starts_are_counted_for_poison_detection()
    {
        var (store, keys, _) = Setup("count");
        Assert.Equal((0, false), await store.PeekAsync(keys));
        await store.TakeAsync(keys, "a", "w", 1, 3);
        await store.TakeAsync(keys, "b", "w", 2, 3);
        Assert.Equal((2, false), await store.PeekAsync(keys));
    }
}
