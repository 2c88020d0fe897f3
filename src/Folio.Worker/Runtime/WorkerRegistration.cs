using System.Globalization;
using System.Text.Json;
using Folio.Worker.Engine;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Folio.Worker.Runtime;

/// <summary>
/// Tells readers which workers serve which model: while the worker runs, a heartbeat writes one field
/// of the hash <c>{StreamPrefix}~workers</c> (the worker's name) holding a small JSON object:
/// <c>worker</c>, <c>model</c>, <c>aliases</c>, <c>queue</c>, <c>max_model_len</c>, <c>started_at</c>,
/// <c>heartbeat_at</c> and <c>expires_at</c> (Unix milliseconds). A reader (the gateway's
/// /v1/models) counts a field as live while <c>expires_at</c> is in the future, so a worker killed
/// without a goodbye drops out after one <see cref="Lifetime"/>; a clean stop deletes its field. The
/// hash itself expires a while after the last heartbeat of any worker, so nothing lingers once all
/// are gone. One key: safe on a Redis Cluster. '~' cannot appear in a request id, so the key never
/// collides with a stream.
/// </summary>
internal sealed partial class WorkerRegistration : IAsyncDisposable
{
    public const string KeySuffix = "~workers";

    /// <summary>How often the field is rewritten.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>How long a field counts as live after its last heartbeat (three missed beats).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan HashExpiry = TimeSpan.FromMinutes(5);

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKey _key;
    private readonly string _worker;
    private readonly string _model;
    private readonly IReadOnlyList<string> _aliases;
    private readonly string _queue;
    private readonly int _maxModelLen;
    private readonly long _startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private bool _failing;

    private WorkerRegistration(IConnectionMultiplexer redis, string streamPrefix, string worker, string queue, EngineInfo info, ILogger log)
    {
        _redis = redis;
        _key = streamPrefix + KeySuffix;
        _worker = worker;
        _model = info.ModelName;
        _aliases = info.Aliases ?? [];
        _queue = queue;
        _maxModelLen = info.MaxModelLen;
        _log = log;
        _loop = Task.Run(() => BeatAsync(_stop.Token));
    }

    /// <summary>Starts the heartbeat (the first beat is written at once, in the background; a failing Redis is retried each interval).</summary>
    public static WorkerRegistration Start(IConnectionMultiplexer redis, string streamPrefix, string worker, string queue, EngineInfo info, ILogger log) =>
        new(redis, streamPrefix, worker, queue, info, log);

    private async Task BeatAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var db = _redis.GetDatabase();
                var batch = db.CreateBatch();
                var set = batch.HashSetAsync(_key, _worker, Entry(now));
                var expire = batch.KeyExpireAsync(_key, HashExpiry);
                batch.Execute();
                await Task.WhenAll(set, expire).ConfigureAwait(false);
                if (_failing)
                {
                    _failing = false;
                    HeartbeatRestored(_log, _worker);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (!_failing)
                {
                    _failing = true;
                    HeartbeatFailed(_log, _worker, e.Message);
                }
            }

            try
            {
                await Task.Delay(Interval, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private string Entry(long now)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("worker", _worker);
            w.WriteString("model", _model);
            w.WriteStartArray("aliases");
            foreach (string alias in _aliases)
            {
                w.WriteStringValue(alias);
            }

            w.WriteEndArray();
            w.WriteString("queue", _queue);
            w.WriteNumber("max_model_len", _maxModelLen);
            w.WriteNumber("started_at", _startedAt);
            w.WriteNumber("heartbeat_at", now);
            w.WriteNumber("expires_at", now + (long)Lifetime.TotalMilliseconds);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Stops the heartbeat and removes this worker's field (best effort: a dead Redis leaves it to expire).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        try
        {
            await _redis.GetDatabase().HashDeleteAsync(_key, _worker).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            HeartbeatFailed(_log, _worker, e.Message);
        }

        _stop.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{_worker} serving {_model} on {_queue}");

    [LoggerMessage(9101, LogLevel.Warning, "Worker {Worker} could not write its registration heartbeat ({Reason}); it drops out of /v1/models until Redis answers again")]
    private static partial void HeartbeatFailed(ILogger log, string worker, string reason);

    [LoggerMessage(9102, LogLevel.Information, "Worker {Worker} registration heartbeat restored")]
    private static partial void HeartbeatRestored(ILogger log, string worker);
}
