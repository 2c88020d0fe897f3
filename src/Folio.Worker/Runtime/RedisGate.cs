using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Folio.Worker.Runtime;

/// <summary>How a Redis failure is handled.</summary>
internal enum RedisFailure
{
    /// <summary>Not a Redis failure, or one that belongs to this request alone (a key of the wrong type): not retried.</summary>
    None,

    /// <summary>Unreachable, timed out, loading, or refusing writes (OOM, READONLY, MISCONF, ...): wait it out.</summary>
    Transient,

    /// <summary>Redis refuses our credentials or permissions (NOAUTH, WRONGPASS, NOPERM): an operator must act; wait.</summary>
    Access,
}

/// <summary>
/// The worker's view of Redis health. Every Redis call of intake and output goes through it: a
/// failure that time or an operator can fix (a restart, a failover, maxmemory, a password) is
/// waited out with backoff while the worker keeps what it holds, stops taking new messages and
/// reports not ready; nothing is requeued in a hot loop. The condition is logged when it starts,
/// then at most once per interval while it lasts, and when it ends: never once per message.
/// </summary>
internal sealed class RedisGate(ILogger log, TimeSpan logInterval)
{
    /// <summary>How often <see cref="ProbeWhileFailingAsync"/> tries a write while Redis fails.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private long _lastProbe;
    private long _failingSince;
    private long _lastLogged;
    private long _waiters;
    private string _condition = string.Empty;

    /// <summary>Whether the last Redis call succeeded (or none failed yet).</summary>
    public bool Healthy => Interlocked.Read(ref _failingSince) == 0;

    public static RedisFailure Classify(Exception e)
    {
        switch (e)
        {
            case RedisConnectionException c when c.FailureType is ConnectionFailureType.AuthenticationFailure:
                return RedisFailure.Access;
            case RedisConnectionException or RedisTimeoutException or TimeoutException:
                return RedisFailure.Transient;
            case RedisServerException s:
                string code = ErrorCode(s.Message);
                return code switch
                {
                    "NOAUTH" or "WRONGPASS" or "NOPERM" => RedisFailure.Access,
                    "OOM" or "READONLY" or "MISCONF" or "LOADING" or "MASTERDOWN" or "CLUSTERDOWN" or "TRYAGAIN" or "BUSY" or "NOREPLICAS" => RedisFailure.Transient,
                    _ => RedisFailure.None,
                };
            default:
                return RedisFailure.None;
        }
    }

    /// <summary>
    /// Runs <paramref name="op"/>, waiting out transient and access failures with backoff until it
    /// succeeds or <paramref name="ct"/> is cancelled. Other failures are thrown to the caller.
    /// </summary>
    /// <param name="writes">Whether <paramref name="op"/> writes. Only a write that succeeds ends a
    /// failure: a read-only replica or a user without write rights still answers reads.</param>
    public async Task<T> RunAsync<T>(Func<Task<T>> op, CancellationToken ct, bool writes = true)
    {
        bool waiting = false;
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    var result = await op().ConfigureAwait(false);
                    if (writes)
                    {
                        ReportSuccess();
                    }

                    return result;
                }
                catch (Exception e) when (Classify(e) != RedisFailure.None && !ct.IsCancellationRequested)
                {
                    if (!waiting)
                    {
                        waiting = true;
                        Interlocked.Increment(ref _waiters);
                    }

                    ReportFailure(e);
                    await Task.Delay(Backoff(attempt), ct).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (waiting)
            {
                Interlocked.Decrement(ref _waiters);
            }
        }
    }

    public Task RunAsync(Func<Task> op, CancellationToken ct) => RunAsync(async () =>
    {
        await op().ConfigureAwait(false);
        return true;
    }, ct);

    /// <summary>100 ms doubling to 5 s: quick after a blip, gentle on a Redis that is down for long.</summary>
    public static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(5000, 100 * (1 << Math.Min(attempt - 1, 6))));

    /// <summary>
    /// While Redis fails, one write probe at most every <see cref="ProbeInterval"/>: the condition is
    /// over when Redis takes a write from this worker again. Without it a worker that held nothing when
    /// Redis started failing would never find out that it passed: it stops consuming while Redis
    /// fails, so nothing else of it calls Redis. A probe's failure is reported like any other (logged
    /// once per interval).
    /// </summary>
    public async Task ProbeWhileFailingAsync(Func<Task> probe)
    {
        long now = Stopwatch.GetTimestamp();
        if (Healthy || Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastProbe), now) < ProbeInterval)
        {
            return;
        }

        Interlocked.Exchange(ref _lastProbe, now);
        try
        {
            await probe().ConfigureAwait(false);
            ReportSuccess();
        }
        catch (Exception e) when (Classify(e) != RedisFailure.None)
        {
            ReportFailure(e);
        }
    }

    public void ReportSuccess()
    {
        if (Interlocked.Read(ref _failingSince) == 0)
        {
            return;
        }

        lock (_gate)
        {
            long since = _failingSince;
            if (since == 0)
            {
                return;
            }

            _failingSince = 0;
            Log.RedisRecovered(log, Stopwatch.GetElapsedTime(since).TotalSeconds);
        }
    }

    public void ReportFailure(Exception e)
    {
        var kind = Classify(e);
        string condition = Describe(e, kind);
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (_failingSince == 0)
            {
                _failingSince = now;
                _lastLogged = now;
                _condition = condition;
                Log.RedisFailing(log, condition);
                return;
            }

            if (Stopwatch.GetElapsedTime(_lastLogged, now) >= logInterval || condition != _condition)
            {
                _lastLogged = now;
                _condition = condition;
                Log.RedisStillFailing(log, Stopwatch.GetElapsedTime(_failingSince, now).TotalSeconds, Interlocked.Read(ref _waiters), condition);
            }
        }
    }

    /// <summary>What is wrong and what to do, without echoing anything but the server's error code.</summary>
    private static string Describe(Exception e, RedisFailure kind)
    {
        if (e is RedisServerException s)
        {
            return ErrorCode(s.Message) switch
            {
                "OOM" => "Redis is out of memory (OOM, maxmemory with noeviction): raise maxmemory, or lower Folio:Redis:StreamTtlSeconds so streams expire sooner",
                "READONLY" => "Redis answered READONLY: Folio:Redis:Configuration points at a replica (after a failover the client follows the new primary)",
                "MISCONF" => "Redis refuses writes because it cannot persist (MISCONF): fix its disk or stop-writes-on-bgsave-error",
                "LOADING" => "Redis is loading its dataset (LOADING)",
                "NOREPLICAS" => "fewer Redis replicas hold the writes than Folio:Redis:WaitReplicas asks (or than the server's min-replicas-to-write) (NOREPLICAS): bring replicas back, or lower Folio:Redis:WaitReplicas",
                "CLUSTERDOWN" => "the Redis Cluster cannot serve a hash slot (CLUSTERDOWN): a primary is down and no replica has taken over yet",
                "NOAUTH" or "WRONGPASS" => "Redis refused our credentials: check the password (and user) in Folio:Redis:Configuration",
                "NOPERM" => "Redis refused a command for lack of permission (NOPERM): the ACL user needs EVAL/EVALSHA, XADD, XRANGE, HSET, HGET, EXPIRE and SET (and WAIT with Folio:Redis:WaitReplicas) on the stream keys: key patterns for the prefix and for {prefix (the hash-tagged state and cancel keys)",
                string code => $"Redis refused the command ({code})",
            };
        }

        if (kind == RedisFailure.Access)
        {
            return "Redis refused our credentials: check the password (and user) in Folio:Redis:Configuration";
        }

        return e is RedisConnectionException c ? $"Redis is unreachable ({c.FailureType})" : "Redis timed out";
    }

    /// <summary>The first word of a Redis error reply ("OOM command not allowed..." -> "OOM").</summary>
    private static string ErrorCode(string message)
    {
        var span = message.AsSpan().TrimStart();
        int end = span.IndexOfAny(' ', '\r', '\n');
        var word = end < 0 ? span : span[..end];
        return word.Length is > 0 and <= 16 && IsUpperAscii(word) ? word.ToString() : "ERR";
    }

    private static bool IsUpperAscii(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (c is not (>= 'A' and <= 'Z'))
            {
                return false;
            }
        }

        return true;
    }
}
