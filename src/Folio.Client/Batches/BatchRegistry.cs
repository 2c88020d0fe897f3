using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Contracts;
using StackExchange.Redis;
using RedisStreamEntry = StackExchange.Redis.StreamEntry;
using StreamEntry = Folio.Client.StreamEntry;

namespace Folio.Client.Batches;

/// <summary>
/// The submitter's side of a batch in Redis (docs/contract.md, "Batches"): the requests hash
/// (custom_id to the request and what collect needs of it) and the batch hash's <c>total</c>, both
/// kept for the batch TTL. Workers count <c>done</c> and <c>failed</c>.
/// </summary>
internal sealed class BatchRegistry(IConnectionMultiplexer redis, string prefix)
{
    /// <summary>KEYS: batch hash, requests hash. ARGV: ttl. total = how many requests are registered.</summary>
    private const string SetTotal = """
        local n = redis.call('HLEN', KEYS[2])
        redis.call('HSET', KEYS[1], 'total', n)
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        return n
        """;

    private IDatabase Db => redis.GetDatabase();

    public async Task RegisterAsync(string batchId, IReadOnlyList<BatchLine> lines, int ttlSeconds)
    {
        RedisKey requests = BatchKeys.Requests(prefix, batchId);
        foreach (var chunk in lines.Chunk(500))
        {
            await Db.HashSetAsync(requests, [.. chunk.Select(l => new HashEntry(l.CustomId, MemberJson(l)))]).ConfigureAwait(false);
        }

        await Db.ScriptEvaluateAsync(SetTotal, [BatchKeys.Hash(prefix, batchId), requests], [ttlSeconds]).ConfigureAwait(false);
    }

    public async Task<BatchStatus> StatusAsync(string batchId)
    {
        var v = await Db.HashGetAsync(BatchKeys.Hash(prefix, batchId), [BatchKeys.Total, BatchKeys.Done, BatchKeys.Failed]).ConfigureAwait(false);
        bool exists = !v[0].IsNull || !v[1].IsNull || !v[2].IsNull;
        return new BatchStatus(batchId, exists, Long(v[0]), Long(v[1]), Long(v[2]));
    }

    /// <summary>Every registered request of the batch, in the order of the submitted file.</summary>
    public async Task<IReadOnlyList<BatchMember>> MembersAsync(string batchId)
    {
        var all = await Db.HashGetAllAsync(BatchKeys.Requests(prefix, batchId)).ConfigureAwait(false);
        var members = new List<BatchMember>(all.Length);
        foreach (var e in all)
        {
            var o = JsonNode.Parse((string)e.Value!)!.AsObject();
            members.Add(new BatchMember(
                e.Name!,
                o["request_id"]!.GetValue<string>(),
                BatchEndpoints.FromUrl(o["url"]?.GetValue<string>()) ?? BatchEndpoint.Completions,
                o["model"]?.GetValue<string>(),
                o["line"]?.GetValue<int>() ?? 0));
        }

        members.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : string.CompareOrdinal(a.CustomId, b.CustomId));
        return members;
    }

    /// <summary>The last entry of each request's stream (null: no stream, or it expired), pipelined.</summary>
    public async Task<StreamEntry?[]> LastEntriesAsync(IReadOnlyList<string> requestIds)
    {
        var batch = Db.CreateBatch();
        var tasks = requestIds.Select(id => batch.StreamRangeAsync(prefix + id, "-", "+", count: 1, messageOrder: Order.Descending)).ToArray();
        batch.Execute();
        var entries = await Task.WhenAll(tasks).ConfigureAwait(false);
        return [.. entries.Select(e => e.Length == 0 ? null : ToEntry(e[0]))];
    }

    /// <summary>Which requests already have a stream (taken or answered): submitting them again would only repeat work.</summary>
    public async Task<bool[]> StreamsExistAsync(IReadOnlyList<string> requestIds)
    {
        var batch = Db.CreateBatch();
        var tasks = requestIds.Select(id => batch.KeyExistsAsync(prefix + id)).ToArray();
        batch.Execute();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private static StreamEntry ToEntry(RedisStreamEntry e) => new(e.Id!, e.Values.ToDictionary(v => (string)v.Name!, v => (string?)v.Value ?? string.Empty, StringComparer.Ordinal));

    private static string MemberJson(BatchLine l)
    {
        var o = new JsonObject
        {
            ["request_id"] = l.RequestId,
            ["url"] = BatchEndpoints.Url(l.Endpoint),
            ["line"] = l.LineNumber,
        };
        if (l.Model is { } m)
        {
            o["model"] = m;
        }

        return o.ToJsonString();
    }

    private static long Long(RedisValue v) => v.IsNull ? 0 : long.Parse((string)v!, NumberStyles.Integer, CultureInfo.InvariantCulture);
}
