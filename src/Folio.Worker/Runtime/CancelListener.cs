using System.Text.Json;
using Folio.Contracts;
using Folio.Worker.Engine;
using Folio.Worker.Options;
using Folio.Worker.Output;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Folio.Worker.Runtime;

/// <summary>
/// Cancel, the worker's second input: every worker listens on the folio.cancel fanout exchange
/// through its own exclusive queue. The holder aborts the request (done with finish_reason abort
/// within one step); every worker also leaves a marker in Redis so a request cancelled before anyone
/// took it is finished with abort when it is taken.
/// </summary>
internal sealed class CancelListener(RabbitMqOptions options, InFlightLedger ledger, IInferenceEngine engine, StreamStore store, RedisGate redis, ILogger log) : IAsyncDisposable
{
    private IChannel? _channel;

    /// <summary>Opens the listening channel where it is closed; <paramref name="reopen"/> replaces it (after a connection recovery its queue is gone).</summary>
    public async Task EnsureOpenAsync(IConnection connection, bool reopen, CancellationToken ct)
    {
        if (reopen && _channel is { } old)
        {
            _channel = null;
            await CloseQuietlyAsync(old).ConfigureAwait(false);
        }

        if (_channel is { IsOpen: true })
        {
            return;
        }

        var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
        await ch.ExchangeDeclareAsync(options.CancelExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
        var q = await ch.QueueDeclareAsync(string.Empty, durable: false, exclusive: true, autoDelete: true, cancellationToken: ct).ConfigureAwait(false);
        await ch.QueueBindAsync(q.QueueName, options.CancelExchange, string.Empty, cancellationToken: ct).ConfigureAwait(false);
        var consumer = new AsyncEventingBasicConsumer(ch);
        consumer.ReceivedAsync += (_, ea) => OnCancelAsync(ea.Body.ToArray());
        await ch.BasicConsumeAsync(q.QueueName, autoAck: true, consumer, ct).ConfigureAwait(false);
        _channel = ch;
    }

    private async Task OnCancelAsync(byte[] body)
    {
        string? id = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("request_id", out var e) && e.ValueKind == JsonValueKind.String)
            {
                id = e.GetString();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not JSON, or a string that is not valid UTF-16: no usable id.
        }

        if (!RequestIdRules.IsValid(id))
        {
            Log.BadCancel(log);
            return;
        }

        bool local = false;
        foreach (var r in ledger.ByRequestId(id!))
        {
            local = true;
            r.CancelRequested = true;
            if (r.Started)
            {
                engine.Abort(r.Key);
            }
        }

        Log.CancelReceived(log, id!, local);
        try
        {
            // One try: a cancel must not hold the listener while Redis is away (the holder, if any, already stopped).
            await store.MarkCancelledAsync(store.Keys(id!)).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisGate.Classify(e) != RedisFailure.None)
        {
            redis.ReportFailure(e);
        }
    }

    private static async Task CloseQuietlyAsync(IChannel ch)
    {
        try
        {
            await ch.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The old channel may already be unusable.
        }

        ch.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } ch)
        {
            _channel = null;
            await CloseQuietlyAsync(ch).ConfigureAwait(false);
        }
    }
}
