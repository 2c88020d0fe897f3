using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>
/// Redis key names for one request, with the key arrays the scripts take built once (a flush runs a
/// script per request every step). The state hash and the cancel marker put a '~' right after the
/// stream prefix: '~' is not allowed in a request_id, so they can never collide with a stream key.
/// </summary>
internal sealed class StreamKeys
{
    private StreamKeys(RedisKey stream, RedisKey state, RedisKey cancelled)
    {
        Stream = stream;
        State = state;
        Cancelled = cancelled;
        StreamAndState = [stream, state];
        TakeKeys = [stream, state, cancelled];
        StateOnly = [state];
    }

    public RedisKey Stream { get; }

    public RedisKey State { get; }

    public RedisKey Cancelled { get; }

    public RedisKey[] StreamAndState { get; }

    public RedisKey[] TakeKeys { get; }

    public RedisKey[] StateOnly { get; }

    public static StreamKeys For(string prefix, string requestId) =>
        new(prefix + requestId, prefix + "~state:" + requestId, prefix + "~cancel:" + requestId);
}
