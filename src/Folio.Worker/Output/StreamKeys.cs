using Folio.Contracts;
using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>
/// Redis key names for one request (<see cref="StreamKeyNames"/>: the auxiliary keys carry the stream
/// key as their hash tag, so every script's keys share the stream's Redis Cluster slot), with the key
/// arrays the scripts take built once (a flush runs a script per request every step). The names an
/// older worker used for the state hash and the cancel marker are kept too: on a Redis that is not a
/// cluster, a take reads them when the new ones are missing (see <see cref="StreamScripts.Take"/>).
/// </summary>
internal sealed class StreamKeys
{
    private readonly RedisKey[] _takeKeysWithLegacy;
    private readonly RedisKey[] _stateWithLegacy;
    private readonly RedisKey[] _failKeysWithLegacy;

    private StreamKeys(string prefix, string requestId)
    {
        Stream = StreamKeyNames.Stream(prefix, requestId);
        State = StreamKeyNames.State(prefix, requestId);
        Cancelled = StreamKeyNames.Cancel(prefix, requestId);
        LegacyState = StreamKeyNames.LegacyState(prefix, requestId);
        LegacyCancelled = StreamKeyNames.LegacyCancel(prefix, requestId);
        StreamAndState = [Stream, State];
        TakeKeys = [Stream, State, Cancelled];
        StateOnly = [State];
        _takeKeysWithLegacy = [Stream, State, Cancelled, LegacyState, LegacyCancelled];
        _stateWithLegacy = [State, LegacyState];
        _failKeysWithLegacy = [Stream, State, LegacyState];
    }

    public RedisKey Stream { get; }

    public RedisKey State { get; }

    public RedisKey Cancelled { get; }

    /// <summary>The state hash's name before the cluster-safe names (another hash slot).</summary>
    public RedisKey LegacyState { get; }

    /// <summary>The cancel marker's name before the cluster-safe names (another hash slot).</summary>
    public RedisKey LegacyCancelled { get; }

    public RedisKey[] StreamAndState { get; }

    public RedisKey[] TakeKeys { get; }

    public RedisKey[] StateOnly { get; }

    /// <summary>The take script's keys; with the legacy names only where Redis is not a cluster (there they would be CROSSSLOT).</summary>
    public RedisKey[] TakeKeysFor(bool legacy) => legacy ? _takeKeysWithLegacy : TakeKeys;

    /// <summary>The peek script's keys (state, then perhaps the legacy state).</summary>
    public RedisKey[] PeekKeysFor(bool legacy) => legacy ? _stateWithLegacy : StateOnly;

    /// <summary>The fail script's keys (stream, state, then perhaps the legacy state).</summary>
    public RedisKey[] FailKeysFor(bool legacy) => legacy ? _failKeysWithLegacy : StreamAndState;

    public static StreamKeys For(string prefix, string requestId) => new(prefix, requestId);
}
