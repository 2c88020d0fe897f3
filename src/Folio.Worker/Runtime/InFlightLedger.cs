using System.Collections.Concurrent;
using Folio.Engine.Core;

namespace Folio.Worker.Runtime;

/// <summary>
/// Every request this worker holds, by the key it gave the engine. Intake adds, the output pump
/// removes once the terminal entry is written (or the request is handed on), cancel looks up by
/// request id. Enumerating it takes no snapshot copy.
/// </summary>
internal sealed class InFlightLedger
{
    private readonly ConcurrentDictionary<RequestKey, InFlightRequest> _byKey = new();
    private long _nextKey;

    public int Count => _byKey.Count;

    public bool IsEmpty => _byKey.IsEmpty;

    /// <summary>All entries, live (a concurrent enumeration, not a copy).</summary>
    public IEnumerable<InFlightRequest> All => _byKey.Select(kv => kv.Value);

    /// <summary>A key never used before in this process.</summary>
    public RequestKey NextKey() => new(Interlocked.Increment(ref _nextKey));

    public void Add(InFlightRequest request) => _byKey[request.Key] = request;

    public bool TryGet(RequestKey key, out InFlightRequest request) => _byKey.TryGetValue(key, out request!);

    /// <summary>Called after an entry left (tier admission waits for room).</summary>
    public Action? AfterRemove { get; set; }

    public bool TryRemove(RequestKey key, out InFlightRequest request)
    {
        bool removed = _byKey.TryRemove(key, out request!);
        if (removed)
        {
            AfterRemove?.Invoke();
        }

        return removed;
    }

    public bool Contains(RequestKey key) => _byKey.ContainsKey(key);

    /// <summary>The entry of a request id whose delivery was lost, if this worker still runs it.</summary>
    public InFlightRequest? FindOrphan(string requestId)
    {
        foreach (var kv in _byKey)
        {
            if (kv.Value.DeliveryLost && kv.Value.RequestId == requestId)
            {
                return kv.Value;
            }
        }

        return null;
    }

    /// <summary>Every entry of a request id (normally one).</summary>
    public IEnumerable<InFlightRequest> ByRequestId(string requestId)
    {
        foreach (var kv in _byKey)
        {
            if (kv.Value.RequestId == requestId)
            {
                yield return kv.Value;
            }
        }
    }
}
