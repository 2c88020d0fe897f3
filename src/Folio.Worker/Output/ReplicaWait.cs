using System.Net;
using Folio.Worker.Options;
using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>
/// Folio:Redis:WaitReplicas: after a flush, WAIT on every primary the flush wrote to, so that what
/// the worker then treats as written (and acknowledges) is held by that many replicas and survives a
/// failover. WAIT applies to the writes sent before it on the same connection, and
/// StackExchange.Redis sends every command for one server over one connection, so WAIT goes to the
/// server that owns each stream's hash slot (on a Redis Cluster, each primary the flush touched; on a
/// single primary, that one) through the server API. Fewer replicas within the timeout is reported
/// as a NOREPLICAS failure: the caller keeps everything pending and retries the flush, which the
/// scripts make harmless (indices already written are skipped), so nothing is acknowledged on the
/// strength of a write that only the primary holds.
/// </summary>
internal sealed class ReplicaWait(IConnectionMultiplexer redis, int replicas, int timeoutMilliseconds)
{
    private readonly HashSet<EndPoint> _endpoints = [];
    private readonly List<Task<RedisResult>> _waits = [];

    public int Replicas => replicas;

    /// <summary>Null when Folio:Redis:WaitReplicas is 0 (off).</summary>
    public static ReplicaWait? For(IConnectionMultiplexer redis, RedisOptions options) =>
        options.WaitReplicas > 0 ? new ReplicaWait(redis, options.WaitReplicas, options.WaitTimeoutMilliseconds) : null;

    /// <summary>Waits until the servers owning <paramref name="streams"/> have their writes on enough replicas; throws NOREPLICAS when not in time.</summary>
    /// <remarks>Not thread-safe: the output pump calls it from its one loop (intake's error entries use <see cref="WaitOneAsync"/>).</remarks>
    public async Task WaitAsync(IReadOnlyList<AppendCommand> written)
    {
        _endpoints.Clear();
        _waits.Clear();
        var db = redis.GetDatabase();
        for (int i = 0; i < written.Count; i++)
        {
            if (db.IdentifyEndpoint(written[i].Keys.Stream) is { } ep && _endpoints.Add(ep))
            {
                _waits.Add(redis.GetServer(ep).ExecuteAsync("WAIT", replicas, timeoutMilliseconds));
            }
        }

        for (int i = 0; i < _waits.Count; i++)
        {
            Check(await _waits[i].ConfigureAwait(false));
        }
    }

    /// <summary>WAIT on the server that owns one key (an error entry written outside the pump).</summary>
    public async Task WaitOneAsync(RedisKey key)
    {
        var ep = redis.GetDatabase().IdentifyEndpoint(key) ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "no Redis server owns the key's hash slot now", null, CommandStatus.Unknown);
        Check(await redis.GetServer(ep).ExecuteAsync("WAIT", replicas, timeoutMilliseconds).ConfigureAwait(false));
    }

    private void Check(RedisResult acknowledged)
    {
        long n = (long)acknowledged;
        if (n < replicas)
        {
            // RedisGate treats NOREPLICAS (Redis's own word for min-replicas-to-write) as transient: wait and retry.
            throw new RedisServerException(RedisErrorKind.NoReplicas, CommandFlags.None, $"NOREPLICAS {n} of the {replicas} replicas of Folio:Redis:WaitReplicas acknowledged the writes within {timeoutMilliseconds} ms");
        }
    }
}
