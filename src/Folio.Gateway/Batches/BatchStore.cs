using Folio.Gateway.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using R = Folio.Gateway.Batches.BatchRecord;

namespace Folio.Gateway.Batches;

/// <summary>
/// The Batch API's records in Redis. Every write that must happen once (creating a record, ending a
/// batch with its result files) is one script over keys of the batch's hash slot, so two gateways
/// answering the same batch at once cannot both create it or write two different endings.
/// </summary>
public sealed class BatchStore(IConnectionMultiplexer redis, IOptions<GatewayQueueOptions> queue)
{
    /// <summary>KEYS: record. ARGV: ttl, then field/value pairs. 1 when created, 0 when the batch already existed.</summary>
    private const string CreateScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    /// <summary>
    /// KEYS: record, output file, error file. ARGV: ttl, status, at, completed, failed, total,
    /// has output (1/0), output bytes, has errors (1/0), error bytes, batch id. Writes the result
    /// files (owned as the record is) and the ending once; 0 when the batch had already ended (or is gone).
    /// </summary>
    private const string FinalizeScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'final_status') == 1 then return 0 end
        local owner = redis.call('HGET', KEYS[1], 'owner')
        if ARGV[7] == '1' then
          redis.call('HSET', KEYS[2], 'owner', owner, 'filename', ARGV[11] .. '_output.jsonl', 'purpose', 'batch_output', 'created_at', ARGV[3], 'bytes', string.len(ARGV[8]), 'content', ARGV[8])
          redis.call('EXPIRE', KEYS[2], ARGV[1])
        end
        if ARGV[9] == '1' then
          redis.call('HSET', KEYS[3], 'owner', owner, 'filename', ARGV[11] .. '_error.jsonl', 'purpose', 'batch_output', 'created_at', ARGV[3], 'bytes', string.len(ARGV[10]), 'content', ARGV[10])
          redis.call('EXPIRE', KEYS[3], ARGV[1])
        end
        redis.call('HSET', KEYS[1], 'final_status', ARGV[2], 'final_at', ARGV[3], 'completed', ARGV[4], 'failed', ARGV[5], 'total', ARGV[6], 'output', ARGV[7], 'errors', ARGV[9])
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    private readonly GatewayQueueOptions _queue = queue.Value;

    private IDatabase Db => redis.GetDatabase();

    private string Prefix => _queue.StreamPrefix;

    /// <summary>Creates the record unless the batch exists; returns whether it did. The caller's list gets the batch either way.</summary>
    public async Task<bool> CreateAsync(string batchId, string owner, IReadOnlyList<KeyValuePair<string, string>> fields, long createdAtMs)
    {
        var args = new List<RedisValue>(1 + 2 * fields.Count) { _queue.BatchTtlSeconds };
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }

        bool created = (int)await Db.ScriptEvaluateAsync(CreateScript, [BatchApiKeys.Record(Prefix, batchId)], [.. args]).ConfigureAwait(false) == 1;
        if (created)
        {
            // Another slot than the record (a list spans batches): a second call, never in the script.
            string list = BatchApiKeys.List(Prefix, owner);
            await Db.SortedSetAddAsync(list, batchId, createdAtMs).ConfigureAwait(false);
            await Db.KeyExpireAsync(list, TimeSpan.FromSeconds(_queue.BatchTtlSeconds)).ConfigureAwait(false);
        }

        return created;
    }

    public async Task<BatchRecord?> ReadAsync(string batchId) =>
        R.From(batchId, await Db.HashGetAllAsync(BatchApiKeys.Record(Prefix, batchId)).ConfigureAwait(false));

    /// <summary>Sets a time field once (in_progress_at, cancelling_at); a later call keeps the first time.</summary>
    public Task SetOnceAsync(string batchId, string field, long unixSeconds) =>
        Db.HashSetAsync(BatchApiKeys.Record(Prefix, batchId), field, unixSeconds, When.NotExists);

    /// <summary>Ends the batch with its result files, once; a second ending (another gateway's) is dropped.</summary>
    public async Task FinalizeAsync(string batchId, string status, long at, long completed, long failed, long total, byte[] output, byte[] errors)
    {
        RedisKey[] keys = [BatchApiKeys.Record(Prefix, batchId), BatchApiKeys.OutputFile(Prefix, batchId), BatchApiKeys.ErrorFile(Prefix, batchId)];
        RedisValue[] args =
        [
            _queue.BatchTtlSeconds, status, at, completed, failed, total,
            output.Length > 0 ? "1" : "0", output, errors.Length > 0 ? "1" : "0", errors, batchId,
        ];
        await Db.ScriptEvaluateAsync(FinalizeScript, keys, args).ConfigureAwait(false);
    }

    /// <summary>The caller's batch ids, newest first, after <paramref name="after"/> (exclusive; null: from the newest); ids whose record expired are dropped.</summary>
    public async Task<(IReadOnlyList<BatchRecord> Page, bool HasMore)> ListAsync(string owner, string? after, int limit)
    {
        string list = BatchApiKeys.List(Prefix, owner);
        long start = 0;
        if (after is not null)
        {
            if (await Db.SortedSetRankAsync(list, after, Order.Descending).ConfigureAwait(false) is not { } rank)
            {
                return ([], false);
            }

            start = rank + 1;
        }

        var page = new List<BatchRecord>(limit);
        while (page.Count <= limit)
        {
            var ids = await Db.SortedSetRangeByRankAsync(list, start, start + limit, Order.Descending).ConfigureAwait(false);
            if (ids.Length == 0)
            {
                break;
            }

            foreach (var id in ids)
            {
                if (await ReadAsync(id!).ConfigureAwait(false) is { } record)
                {
                    page.Add(record);
                }
                else
                {
                    await Db.SortedSetRemoveAsync(list, id).ConfigureAwait(false);
                    start--;
                }
            }

            start += ids.Length;
        }

        return page.Count > limit ? (page.GetRange(0, limit), true) : (page, false);
    }
}
