using Folio.Contracts;
using Folio.Worker.Options;
using Folio.Worker.Output;
using Folio.Worker.Runtime;
using StackExchange.Redis;

namespace Folio.Worker.Tests;

/// <summary>
/// The cluster-safe key names (contract section 6.4) and the rolling upgrade from the names before
/// them: on a Redis that is not a cluster, a stream an older worker started (its state hash and cancel
/// marker under <c>{prefix}~state:{id}</c> and <c>{prefix}~cancel:{id}</c>) is continued at its next
/// index by the new code, never rewritten, and the older worker is fenced off.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class LegacyKeyNamesTests(ServersFixture servers)
{
    private static StreamToken T(int id) => new(id, $"t{id} ", null, null);

    /// <summary>What a worker before the cluster-safe names left behind: its start entry, the given tokens as indices 0.., and its state hash under the old name.</summary>
    private async Task WriteOldStreamAsync(StreamKeys keys, IReadOnlyList<(int Id, string Text)> tokens, string owner)
    {
        var db = servers.Redis.GetDatabase();
        await db.StreamAddAsync(keys.Stream, [new("type", "start"), new("worker", "old-worker"), new("attempt", "1"), new("prompt_tokens", "3"), new("resume_index", "0")]);
        for (int i = 0; i < tokens.Count; i++)
        {
            await db.StreamAddAsync(keys.Stream, [new("type", "token"), new("index", i), new("token_id", tokens[i].Id), new("text", tokens[i].Text)]);
        }

        await db.HashSetAsync(keys.LegacyState, [new("owner", owner), new("next", tokens.Count), new("starts", 1), new("takes", 1)]);
        await db.KeyExpireAsync(keys.Stream, TimeSpan.FromMinutes(10));
        await db.KeyExpireAsync(keys.LegacyState, TimeSpan.FromMinutes(10));
    }

    [Fact]
    public void Auxiliary_keys_carry_the_stream_key_as_their_hash_tag()
    {
        const string prefix = "folio:stream:";
        Assert.Equal("folio:stream:abc-1", StreamKeyNames.Stream(prefix, "abc-1"));
        Assert.Equal("{folio:stream:abc-1}~state", StreamKeyNames.State(prefix, "abc-1"));
        Assert.Equal("{folio:stream:abc-1}~cancel", StreamKeyNames.Cancel(prefix, "abc-1"));
        Assert.Equal("{folio:stream:abc-1}~gateway", StreamKeyNames.GatewayMarker(prefix, "abc-1"));
        // That they share the stream's slot is asked of a real cluster: RedisClusterTests.
    }

    [Theory]
    [InlineData("folio:{stream}:")]
    [InlineData("folio}:")]
    [InlineData("")]
    public void A_stream_prefix_with_a_brace_or_empty_is_refused_at_start_naming_the_key(string prefix)
    {
        string? message = new RedisOptionsValidator().Validate(null, new RedisOptions { Configuration = "h:1", StreamPrefix = prefix }).FailureMessage;
        Assert.Contains("Folio:Redis:StreamPrefix", message, StringComparison.Ordinal);
        Assert.Null(StreamKeyNames.PrefixProblem("folio:stream:"));
    }

    [Theory]
    [InlineData(-1, 1000, "Folio:Redis:WaitReplicas")]
    [InlineData(17, 1000, "Folio:Redis:WaitReplicas")]
    [InlineData(1, 0, "Folio:Redis:WaitTimeoutMilliseconds")]
    public void Wait_replicas_settings_out_of_range_are_refused_naming_the_key(int replicas, int timeout, string key)
    {
        var o = new RedisOptions { Configuration = "h:1", WaitReplicas = replicas, WaitTimeoutMilliseconds = timeout };
        Assert.Contains(key, new RedisOptionsValidator().Validate(null, o).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_take_continues_a_stream_an_older_worker_started_at_its_index_and_fences_the_older_worker_off()
    {
        var names = new TestNames("legacy");
        var store = new StreamStore(servers.Redis, names.StreamPrefix, 600);
        var keys = store.Keys("old-1");
        var db = servers.Redis.GetDatabase();
        await WriteOldStreamAsync(keys, [(10, "a"), (11, "b"), (12, "c")], "old-owner");

        // Before any take by the new code, the start counters are read from the old name.
        Assert.Equal(new StartHistory(1, 1, false, false), await store.PeekAsync(keys));

        var take = await store.TakeAsync(keys, "new-owner", "new-worker", 2, 3, countAsStart: true);
        Assert.Equal(new TakeResult(false, 3, false), take);
        Assert.Equal(2, (int)await db.HashGetAsync(keys.State, "starts"));
        Assert.Equal(2, (int)await db.HashGetAsync(keys.State, "takes"));

        var written = AppendCommand.Build(keys, "new-owner", 600, [T(13), T(14)], 0, 3, null);
        Assert.Equal(new AppendOutcome(AppendStatus.Written, 5), (await store.AppendBatchAsync([written], e => RedisGate.Classify(e) != RedisFailure.None))[0]);

        // The older worker's next write (its append script on the old names) is fenced off, not a rewrite.
        var old = (RedisResult[])(await db.ScriptEvaluateAsync(StreamScripts.Append, [keys.Stream, keys.LegacyState], ["old-owner", 600, 3, 1, 99, "x", string.Empty, string.Empty, 0]))!;
        Assert.Equal((int)AppendStatus.Fenced, (int)old[0]);

        var entries = await new ForeignClient(servers, names).ReadAsync("old-1");
        Assert.Equal(["0", "1", "2", "3", "4"], entries.Where(e => e["type"] == "token").Select(e => e["index"]));
        Assert.Equal("3", entries.Last(e => e["type"] == "start")["resume_index"]);
    }

    [Fact]
    public async Task A_cancel_recorded_under_the_old_name_is_seen_by_the_take()
    {
        var names = new TestNames("legacycancel");
        var store = new StreamStore(servers.Redis, names.StreamPrefix, 600);
        var keys = store.Keys("old-cancel");
        await servers.Redis.GetDatabase().StringSetAsync(keys.LegacyCancelled, "1", TimeSpan.FromMinutes(10));
        Assert.True((await store.TakeAsync(keys, "new-owner", "new-worker", 1, 3, countAsStart: true)).Cancelled);
    }

    [Fact]
    public async Task A_request_an_older_worker_left_half_done_is_finished_by_the_new_worker_without_rewriting_an_index()
    {
        var names = new TestNames("legacyrun");
        var client = new ForeignClient(servers, names);
        var request = new GenerationRequest { RequestId = "upgrade-1", Prompt = "upgrade", MaxTokens = 40, Seed = 9, IgnoreEos = true };
        int[] expected = ContractGuaranteeTests.ExpectedTokens(request, null!);
        var keys = StreamKeys.For(names.StreamPrefix, request.RequestId);
        await WriteOldStreamAsync(keys, expected.Take(12).Select(t => (t, FakeEngine.TextOf(t))).ToList(), "old-owner");

        // The message comes back (the older worker was stopped during the upgrade) and a new worker takes it.
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        await client.PublishAsync($$"""{"request_id":"upgrade-1","prompt":"upgrade","max_tokens":40,"seed":9,"ignore_eos":true}""");
        var entries = await client.WaitTerminalAsync(request.RequestId, TimeSpan.FromSeconds(20));
        Assert.Equal(expected, StreamChecks.AssertWellFormed(entries));
        var starts = entries.Where(e => e["type"] == "start").ToList();
        Assert.Equal(2, starts.Count);
        Assert.Equal("12", starts[1]["resume_index"]);
        Assert.Equal("2", (string?)await servers.Redis.GetDatabase().HashGetAsync(keys.State, "starts"));
    }
}
