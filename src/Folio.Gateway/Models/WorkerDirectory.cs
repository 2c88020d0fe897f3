using System.Text.Json;
using Folio.Gateway.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Folio.Gateway.Models;

/// <summary>One live worker's registration (the worker writes it every few seconds; see the worker's WorkerRegistration).</summary>
public sealed record WorkerInfo(string Worker, string Model, IReadOnlyList<string> Aliases, string Queue, int MaxModelLen, long StartedAtMs, long ExpiresAtMs)
{
    /// <summary>Whether a request naming <paramref name="model"/> is for this worker (its name or an alias).</summary>
    public bool Serves(string model) => string.Equals(Model, model, StringComparison.Ordinal) || Aliases.Contains(model, StringComparer.Ordinal);
}

/// <summary>
/// The workers that are alive now, read from the hash <c>{StreamPrefix}~workers</c> their heartbeats
/// write: an entry counts while its <c>expires_at</c> is ahead. Read at most once per
/// Folio:Gateway:ModelsCacheMilliseconds, so a busy gateway costs Redis one HGETALL a second.
/// </summary>
public sealed class WorkerDirectory(IConnectionMultiplexer redis, IOptions<GatewayQueueOptions> queue, IOptions<GatewayOptions> gateway, TimeProvider time) : IDisposable
{
    public const string KeySuffix = "~workers";

    private readonly RedisKey _key = queue.Value.StreamPrefix + KeySuffix;
    private readonly TimeSpan _cacheFor = TimeSpan.FromMilliseconds(gateway.Value.ModelsCacheMilliseconds);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private (IReadOnlyList<WorkerInfo> Workers, long At) _cached = ([], long.MinValue);

    public async Task<IReadOnlyList<WorkerInfo>> LiveAsync()
    {
        long now = time.GetTimestamp();
        if (time.GetElapsedTime(_cached.At, now) < _cacheFor && _cached.At != long.MinValue)
        {
            return _cached.Workers;
        }

        await _refresh.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_cached.At != long.MinValue && time.GetElapsedTime(_cached.At, time.GetTimestamp()) < _cacheFor)
            {
                return _cached.Workers;
            }

            var fields = await redis.GetDatabase().HashGetAllAsync(_key).ConfigureAwait(false);
            long nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            var live = new List<WorkerInfo>();
            foreach (var f in fields)
            {
                if (Parse(f.Value) is { } w && w.ExpiresAtMs > nowMs)
                {
                    live.Add(w);
                }
            }

            _cached = (live, time.GetTimestamp());
            return live;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>The distinct models served now, each with the earliest start of a worker serving it.</summary>
    public async Task<IReadOnlyList<(string Model, long CreatedMs)>> ModelsAsync() =>
        [.. (await LiveAsync().ConfigureAwait(false)).GroupBy(w => w.Model, StringComparer.Ordinal).Select(g => (g.Key, g.Min(w => w.StartedAtMs))).OrderBy(m => m.Key, StringComparer.Ordinal)];

    public void Dispose() => _refresh.Dispose();

    internal static WorkerInfo? Parse(RedisValue value)
    {
        try
        {
            using var doc = JsonDocument.Parse((string)value!);
            var r = doc.RootElement;
            return new WorkerInfo(
                r.GetProperty("worker").GetString()!,
                r.GetProperty("model").GetString()!,
                r.TryGetProperty("aliases", out var a) && a.ValueKind == JsonValueKind.Array ? [.. a.EnumerateArray().Select(x => x.GetString() ?? string.Empty)] : [],
                r.TryGetProperty("queue", out var q) ? q.GetString() ?? string.Empty : string.Empty,
                r.TryGetProperty("max_model_len", out var m) ? m.GetInt32() : 0,
                r.TryGetProperty("started_at", out var s) ? s.GetInt64() : 0,
                r.GetProperty("expires_at").GetInt64());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Not a registration this gateway understands: not a live worker.
            return null;
        }
    }
}
