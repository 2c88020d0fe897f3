namespace Folio.Worker.Output;

/// <summary>
/// The script that counts a finished request towards its batch. Both keys carry the batch hash as
/// their hash tag (see <see cref="Folio.Contracts.BatchKeys"/>), so it runs on one Redis Cluster node;
/// the stream lives in another slot, which is why counting is a second call after the terminal entry
/// is written, never part of the append.
/// </summary>
internal static class BatchScripts
{
    /// <summary>
    /// KEYS: the batch hash, the counted hash. ARGV: request_id, "done" or "failed", ttl.
    /// HSETNX on the counted hash makes the count exactly once per request: a redelivery, a second
    /// worker or a resubmission that finds the stream finished counts again and changes nothing.
    /// Returns 1 when this call counted the request, 0 when it had been counted before.
    /// </summary>
    public const string Count = """
        local fresh = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
        if fresh == 1 then
          redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
        end
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        redis.call('EXPIRE', KEYS[2], ARGV[3])
        return fresh
        """;
}
