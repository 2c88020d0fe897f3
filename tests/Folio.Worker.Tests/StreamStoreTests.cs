using Folio.Worker.Output;
using Folio.Worker.Runtime;

namespace Folio.Worker.Tests;

/// <summary>The Lua scripts that keep streams correct when workers die: fencing, no index twice, safe retries, repair after Redis loses data.</summary>
[Collection(ServersCollection.Name)]
public sealed class StreamStoreTests(ServersFixture servers)
{
    private static StreamToken T(int id) => new(id, $"t{id} ", null, null);

    private (StreamStore Store, StreamKeys Keys, ForeignClient Client) Setup(string id)
    {
        var names = new TestNames();
        var store = new StreamStore(servers.Redis, names.StreamPrefix, 600);
        return (store, store.Keys(id), new ForeignClient(servers, names));
    }

    /// <summary>Appends tokens[from..] as indices first.. (the layout the output pump builds).</summary>
    private static async Task<AppendOutcome> Append(StreamStore store, StreamKeys keys, string owner, int first, StreamToken[] tokens, KeyValuePair<string, string>[]? terminal = null)
    {
        var command = AppendCommand.Build(keys, owner, store.TtlSeconds, tokens, 0, first, terminal);
        return (await store.AppendBatchAsync([command], e => RedisGate.Classify(e) != RedisFailure.None))[0];
    }

    [Fact]
    public async Task A_retried_append_after_a_lost_reply_writes_each_index_once()
    {
        var (store, keys, client) = Setup("retry");
        var take = await store.TakeAsync(keys, "owner-a", "w", 1, 3, countAsStart: true);
        Assert.Equal(0, take.NextIndex);
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 2), await Append(store, keys, "owner-a", 0, [T(5), T(6)]));
        // The same write again (its reply was lost), then one overlapping it.
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 2), await Append(store, keys, "owner-a", 0, [T(5), T(6)]));
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 3), await Append(store, keys, "owner-a", 1, [T(6), T(7)]));
        var entries = await client.ReadAsync("retry");
        Assert.Equal(["0", "1", "2"], entries.Where(e => e["type"] == "token").Select(e => e["index"]));
    }

    [Fact]
    public async Task A_fenced_owner_cannot_write_after_another_took_the_request()
    {
        var (store, keys, client) = Setup("fence");
        await store.TakeAsync(keys, "old", "w1", 1, 3, countAsStart: true);
        await Append(store, keys, "old", 0, [T(1)]);
        var take = await store.TakeAsync(keys, "new", "w2", 2, 3, countAsStart: true);
        Assert.Equal(1, take.NextIndex);
        Assert.Equal(AppendStatus.Fenced, (await Append(store, keys, "old", 1, [T(2)])).Status);
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 2), await Append(store, keys, "new", 1, [T(2)]));
        var entries = await client.ReadAsync("fence");
        Assert.Equal(["start", "token", "start", "token"], entries.Select(e => e["type"]));
        Assert.Equal("1", entries[2]["resume_index"]);
    }

    [Fact]
    public async Task An_append_that_would_leave_a_gap_is_refused_and_says_where_the_stream_ends()
    {
        var (store, keys, _) = Setup("gap");
        await store.TakeAsync(keys, "o", "w", 1, 3, countAsStart: true);
        await Append(store, keys, "o", 0, [T(1)]);
        Assert.Equal(new AppendOutcome(AppendStatus.Gap, 1), await Append(store, keys, "o", 3, [T(4)]));
    }

    [Fact]
    public async Task Nothing_follows_a_terminal_entry_and_a_finished_stream_is_not_taken_again()
    {
        var (store, keys, client) = Setup("final");
        await store.TakeAsync(keys, "o", "w", 1, 3, countAsStart: true);
        KeyValuePair<string, string>[] done = [new("type", "done"), new("finish_reason", "length")];
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 1), await Append(store, keys, "o", 0, [T(1)], done));
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 1), await Append(store, keys, "o", 0, [T(1)], done)); // retry: no second done
        Assert.True((await store.TakeAsync(keys, "o2", "w", 2, 3, countAsStart: true)).AlreadyFinished);
        Assert.False(await store.FailAsync(keys, "internal", "late"));
        Assert.Equal(["start", "token", "done"], (await client.ReadAsync("final")).Select(e => e["type"]));
    }

    [Fact]
    public async Task Resume_reads_back_the_tokens_already_written()
    {
        var (store, keys, _) = Setup("resume");
        await store.TakeAsync(keys, "o", "w", 1, 3, countAsStart: true);
        await Append(store, keys, "o", 0, [T(4), T(8), T(15)]);
        var take = await store.TakeAsync(keys, "o2", "w", 2, 3, countAsStart: true);
        var resume = await store.ReadResumeAsync(keys, take.NextIndex);
        Assert.Equal([4, 8, 15], resume.Select(t => t.TokenId));
        Assert.Equal("t4 t8 t15 ", string.Concat(resume.Select(t => t.Text)));
    }

    [Fact]
    public async Task Starts_are_counted_and_takes_only_until_the_request_proves_itself()
    {
        var (store, keys, _) = Setup("count");
        Assert.Equal(new StartHistory(0, 0, false, false), await store.PeekAsync(keys));
        await store.TakeAsync(keys, "a", "w", 1, 3, countAsStart: true);
        await store.TakeAsync(keys, "b", "w", 2, 3, countAsStart: true);
        Assert.Equal(new StartHistory(2, 2, false, false), await store.PeekAsync(keys));
        await store.ProveAsync(keys, "b");
        await store.TakeAsync(keys, "c", "w", 3, 3, countAsStart: true);
        Assert.Equal(new StartHistory(2, 3, true, false), await store.PeekAsync(keys));
    }

    [Fact]
    public async Task A_detached_delivery_and_a_reattach_are_not_charged_as_takes()
    {
        var (store, keys, _) = Setup("detach");
        await store.TakeAsync(keys, "a", "w", 1, 3, countAsStart: true);
        await store.DetachAsync(keys, "a");
        await store.TakeAsync(keys, "b", "w2", 2, 3, countAsStart: true);
        await store.TakeAsync(keys, "c", "w2", 3, 3, countAsStart: false);
        Assert.Equal(new StartHistory(1, 2, false, false), await store.PeekAsync(keys));
    }

    [Fact]
    public async Task A_stream_whose_state_redis_lost_is_reported_lost_and_restored_from_index_zero()
    {
        var (store, keys, client) = Setup("lost");
        await store.TakeAsync(keys, "o", "w", 1, 3, countAsStart: true);
        await Append(store, keys, "o", 0, [T(1), T(2)]);
        // Redis restarted without persistence: every key is gone.
        await servers.Redis.GetDatabase().KeyDeleteAsync([keys.Stream, keys.State]);
        Assert.Equal(AppendStatus.Lost, (await Append(store, keys, "o", 2, [T(3)])).Status);
        Assert.Equal((RestoreOutcome.Restored, 0), await store.RestoreAsync(keys, "o", "w", 1, 3));
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 3), await Append(store, keys, "o", 0, [T(1), T(2), T(3)]));
        var entries = await client.ReadAsync("lost");
        Assert.Equal(["start", "token", "token", "token"], entries.Select(e => e["type"]));
        Assert.Equal("0", entries[0]["resume_index"]);
        Assert.Equal(RestoreOutcome.OwnedByAnother, (await store.RestoreAsync(keys, "someone-else", "w", 1, 3)).Outcome);
    }

    /// <summary>
    /// On a Redis Cluster a write can reach a node that no longer owns its slot (a primary restarted
    /// empty, before it learned that its replica took over) and find no state there; the restore that
    /// follows reaches the real owner, where the state is: it must not reset the stream to index 0.
    /// </summary>
    [Fact]
    public async Task A_restore_that_finds_the_state_after_all_changes_nothing_and_says_where_the_stream_ends()
    {
        var (store, keys, client) = Setup("still-there");
        await store.TakeAsync(keys, "o", "w", 1, 3, countAsStart: true);
        await Append(store, keys, "o", 0, [T(1), T(2)]);
        Assert.Equal((RestoreOutcome.StillThere, 2), await store.RestoreAsync(keys, "o", "w", 1, 3));
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 3), await Append(store, keys, "o", 2, [T(3)]));
        var entries = await client.ReadAsync("still-there");
        Assert.Equal(["start", "token", "token", "token"], entries.Select(e => e["type"]));
    }
}
