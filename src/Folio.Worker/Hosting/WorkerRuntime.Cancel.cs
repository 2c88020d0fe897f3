using System.Text.Json;
using Folio.Contracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StackExchange.Redis;

namespace Folio.Worker.Hosting;

/// <summary>
/// Cancel: every worker listens on the folio.cancel fanout exchange through its own exclusive
/// queue. The holder aborts the request (done with finish_reason abort within one step); every
/// worker also leaves a marker in Redis so a request cancelled before anyone took it is finished
/// with abort when it is taken.
/// </summary>
internal sealed partial class WorkerRuntime
{
    private async Task<IChannel> OpenCancelChannelAsync(IConnection connection, CancellationToken ct)
    {
        var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
        await ch.ExchangeDeclareAsync(_rabbit.CancelExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct).ConfigureAwait(false);
        var q = await ch.QueueDeclareAsync(string.Empty, durable: false, exclusive: true, autoDelete: true, cancellationToken: ct).ConfigureAwait(false);
        await ch.QueueBindAsync(q.QueueName, _rabbit.CancelExchange, string.Empty, cancellationToken: ct).ConfigureAwait(false);
        var consumer = new AsyncEventingBasicConsumer(ch);
        consumer.ReceivedAsync += (_, ea) => OnCancelAsync(ea.Body.ToArray());
        await ch.BasicConsumeAsync(q.QueueName, autoAck: true, consumer, ct).ConfigureAwait(false);
        return ch;
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
        catch (JsonException)
        {
        }

        if (!RequestIdRules.IsValid(id))
        {
            Log.BadCancel(_log);
            return;
        }

        bool local = false;
        foreach (var r in _inFlight.Values)
        {
            if (r.RequestId == id)
            {
                local = true;
                r.CancelRequested = true;
                if (r.Started)
                {
                    _engine.Abort(r.Ticket);
                }
            }
        }

        Log.CancelReceived(_log, id!, local);
        try
        {
            await _store!.MarkCancelledAsync(_store.Keys(id!)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.RedisWriteFailed(_log, e.Message);
        }
    }
}
