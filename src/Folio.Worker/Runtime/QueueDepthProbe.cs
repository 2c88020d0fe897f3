using System.Diagnostics;
using Folio.Worker.Metrics;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Folio.Worker.Runtime;

/// <summary>
/// Asks the broker how many messages are ready and how many consumers each request queue (every
/// tier) has, for the autoscaling series of /metrics. One passive declare per queue on a channel of
/// its own, at most once per <paramref name="maxAge"/> however often Prometheus scrapes (several
/// scrapers, or a dashboard refreshing, must not turn into broker load), and never longer than
/// <paramref name="timeout"/>: a scrape must answer even while the broker does not.
/// </summary>
internal sealed class QueueDepthProbe(BrokerSession broker, IReadOnlyList<(string Queue, int Tier)> queues, TimeSpan maxAge, TimeSpan timeout, ILogger log) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;
    private (long Ready, long Consumers)?[] _last = new (long, long)?[queues.Count];
    private long _lastAt = long.MinValue;

    /// <summary>The queues' current figures, with this worker's unacknowledged deliveries beside them.</summary>
    public async Task<IReadOnlyList<QueueDepth>> ReadAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_lastAt == long.MinValue || Stopwatch.GetElapsedTime(_lastAt) >= maxAge)
            {
                _last = await AskBrokerAsync(ct).ConfigureAwait(false);
                _lastAt = Stopwatch.GetTimestamp();
            }
        }
        finally
        {
            _gate.Release();
        }

        var unacked = broker.UnacknowledgedByQueue();
        var list = new QueueDepth[queues.Count];
        for (int i = 0; i < queues.Count; i++)
        {
            var (queue, tier) = queues[i];
            list[i] = new QueueDepth(queue, tier, _last[i]?.Ready, _last[i]?.Consumers, unacked.GetValueOrDefault(queue));
        }

        return list;
    }

    private async Task<(long, long)?[]> AskBrokerAsync(CancellationToken ct)
    {
        var figures = new (long, long)?[queues.Count];
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(timeout);
        for (int i = 0; i < queues.Count; i++)
        {
            try
            {
                if (_channel is not { IsOpen: true })
                {
                    _channel?.Dispose();
                    _channel = broker.Connection is { IsOpen: true } c ? await c.CreateChannelAsync(cancellationToken: bounded.Token).ConfigureAwait(false) : null;
                }

                if (_channel is null)
                {
                    break; // Not connected: no figures this time (the series are left out, not stale).
                }

                var ok = await _channel.QueueDeclarePassiveAsync(queues[i].Queue, bounded.Token).ConfigureAwait(false);
                figures[i] = (ok.MessageCount, ok.ConsumerCount);
            }
            catch (Exception e) when (e is OperationCanceledException or RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException or ObjectDisposedException && !ct.IsCancellationRequested)
            {
                // A queue deleted behind our back closes the channel (404); an unreachable broker times
                // out. Either way this queue has no figures at this scrape; the next opens a new channel.
                Log.QueueProbeFailed(log, queues[i].Queue, e.Message);
            }
        }

        return figures;
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } ch)
        {
            try
            {
                await ch.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The connection is already gone: nothing to close.
            }

            ch.Dispose();
        }

        _gate.Dispose();
    }
}
