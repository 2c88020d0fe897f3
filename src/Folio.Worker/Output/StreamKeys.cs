using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>
/// Redis key names for one request. The state hash and the cancel marker put a '~' right after the
/// stream prefix: '~' is not allowed in a request_id, so they can never collide with a stream key.
/// </summary>
internal readonly record struct StreamKeys(RedisKey Stream, RedisKey State, RedisKey Cancelled)
{
    public static StreamKeys For(string prefix, string requestId) =>
        new(prefix + requestId, prefix + "~state:" + requestId, prefix + "~cancel:" + requestId);
}
