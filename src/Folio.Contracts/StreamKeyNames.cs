namespace Folio.Contracts;

/// <summary>
/// The Redis key names of one request (docs/contract.md section 2 and CONTRACT.md section 6.4), the
/// one place the worker, the SDK and the gateway build them. The stream key is the prefix and the
/// request id, unchanged since version 1. Every auxiliary key of a request carries the whole stream
/// key as its Redis Cluster hash tag (<c>{folio:stream:ID}~state</c>): only the text between the
/// first '{' and the next '}' is hashed, so the auxiliary keys land in the stream's hash slot and a
/// script may touch all of them on a Redis Cluster. That holds because neither a request id
/// (<see cref="RequestIdRules"/>) nor a valid prefix (<see cref="PrefixProblem"/>) holds a brace: the
/// stream key has no tag of its own and is hashed whole. An auxiliary key starts with '{' and a
/// stream key cannot, so the two never collide.
/// </summary>
public static class StreamKeyNames
{
    /// <summary>The state hash's suffix after the tagged stream key.</summary>
    public const string StateSuffix = "~state";

    /// <summary>The cancel marker's suffix after the tagged stream key.</summary>
    public const string CancelSuffix = "~cancel";

    /// <summary>The gateway's published-once marker's suffix after the tagged stream key.</summary>
    public const string GatewaySuffix = "~gateway";

    /// <summary>The request's output stream: <c>{prefix}{request_id}</c>.</summary>
    public static string Stream(string prefix, string requestId) => prefix + requestId;

    /// <summary>The worker's state hash (owner, next index, start counters): <c>{{prefix}{request_id}}~state</c>.</summary>
    public static string State(string prefix, string requestId) => Tagged(prefix, requestId, StateSuffix);

    /// <summary>The cancel marker of a request no worker held when it was cancelled: <c>{{prefix}{request_id}}~cancel</c>.</summary>
    public static string Cancel(string prefix, string requestId) => Tagged(prefix, requestId, CancelSuffix);

    /// <summary>The gateway's marker for a client-chosen id that was published: <c>{{prefix}{request_id}}~gateway</c>.</summary>
    public static string GatewayMarker(string prefix, string requestId) => Tagged(prefix, requestId, GatewaySuffix);

    /// <summary>
    /// The state hash's name before version 2 (<c>{prefix}~state:{request_id}</c>): in another hash
    /// slot than the stream, so only a worker on a Redis that is not a cluster reads it, to continue
    /// streams an older worker started (a rolling upgrade).
    /// </summary>
    public static string LegacyState(string prefix, string requestId) => prefix + "~state:" + requestId;

    /// <summary>The cancel marker's name before version 2 (<c>{prefix}~cancel:{request_id}</c>); read like <see cref="LegacyState"/>.</summary>
    public static string LegacyCancel(string prefix, string requestId) => prefix + "~cancel:" + requestId;

    /// <summary>
    /// Why <paramref name="prefix"/> cannot be a stream prefix, or null when it can: it must not be
    /// empty and must not hold '{' or '}' (a brace in it would make the stream key carry a hash tag of
    /// its own, or cut the auxiliary keys' tag short, and the keys of one request would no longer share
    /// a hash slot on a Redis Cluster).
    /// </summary>
    public static string? PrefixProblem(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            return "must not be empty (the workers' default is folio:stream:)";
        }

        if (prefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            return "must not contain '{' or '}' (they would change the keys' Redis Cluster hash slots); use for example folio:stream:";
        }

        return null;
    }

    private static string Tagged(string prefix, string requestId, string suffix) => string.Concat("{", prefix, requestId, "}", suffix);
}
