using Folio.Contracts;
using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>
/// Counts finished requests towards their batch hash (contract section 6.4): done for a <c>done</c>
/// entry, failed for an <c>error</c> entry, once per request however often it is delivered. Called
/// after the terminal entry is written; a delivery that finds its stream already ended calls
/// <see cref="EnsureCountedAsync"/>, so a worker that died between the two writes is made good by
/// whoever gets the request next.
/// </summary>
internal sealed class BatchCounter(IConnectionMultiplexer redis, string prefix, int ttlSeconds)
{
    private IDatabase Db => redis.GetDatabase();

    /// <summary>Counts <paramref name="requestId"/> as done (<paramref name="failed"/> false) or failed; true when this call counted it.</summary>
    public async Task<bool> CountAsync(string batchId, string requestId, bool failed)
    {
        RedisKey[] keys = [BatchKeys.Hash(prefix, batchId), BatchKeys.Counted(prefix, batchId)];
        var r = await Db.ScriptEvaluateAsync(BatchScripts.Count, keys, [requestId, failed ? BatchKeys.Failed : BatchKeys.Done, ttlSeconds]).ConfigureAwait(false);
        return (long)r == 1;
    }

    /// <summary>
    /// Counts a request whose stream ended earlier (perhaps by a worker that died before counting):
    /// reads the stream's last entry for the outcome. False when the stream holds no terminal entry
    /// (it expired: nothing to count from).
    /// </summary>
    public async Task<bool> EnsureCountedAsync(StreamKeys keys, string batchId, string requestId)
    {
        var last = await Db.StreamRangeAsync(keys.Stream, "-", "+", count: 1, messageOrder: Order.Descending).ConfigureAwait(false);
        if (last.Length == 0)
        {
            return false;
        }

        string? type = last[0][StreamFields.Type];
        if (!EntryTypes.IsTerminal(type))
        {
            return false;
        }

        await CountAsync(batchId, requestId, type == EntryTypes.Error).ConfigureAwait(false);
        return true;
    }
}
