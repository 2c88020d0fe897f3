using System.Threading.Channels;

namespace Folio.Engine;

/// <summary>
/// Receives each step's outputs on the engine thread, once per step, so a consumer can write all of
/// them in one round trip. The array is the receiver's to keep. It must return quickly and do its
/// I/O elsewhere.
/// </summary>
public interface IEngineOutputSink
{
    void OnStep(RequestOutput[] outputs);
}

/// <summary>Hands every step's outputs to a channel for a consumer on another thread.</summary>
public sealed class ChannelOutputSink : IEngineOutputSink
{
    private readonly Channel<RequestOutput[]> _channel =
        Channel.CreateUnbounded<RequestOutput[]>(new UnboundedChannelOptions { SingleWriter = true });

    public ChannelReader<RequestOutput[]> Reader => _channel.Reader;

    public void OnStep(RequestOutput[] outputs) => _channel.Writer.TryWrite(outputs);

    public void Complete() => _channel.Writer.TryComplete();
}

/// <summary>Collects outputs in memory (tests, benchmarks, synchronous callers).</summary>
public sealed class CollectingOutputSink : IEngineOutputSink
{
    private readonly Lock _gate = new();
    private readonly List<RequestOutput> _all = [];

    public void OnStep(RequestOutput[] outputs)
    {
        lock (_gate)
        {
            _all.AddRange(outputs);
        }
    }

    public IReadOnlyList<RequestOutput> Snapshot()
    {
        lock (_gate)
        {
            return [.. _all];
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _all.Clear();
        }
    }
}
