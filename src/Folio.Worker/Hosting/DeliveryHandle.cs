using RabbitMQ.Client;

namespace Folio.Worker.Hosting;

/// <summary>
/// A delivery to acknowledge later. The epoch is the consume channel's incarnation: after a
/// connection loss the broker has already requeued the message, and a delivery tag from an older
/// epoch must never be acked on the recovered channel (the broker would close it).
/// </summary>
internal sealed record DeliveryHandle(IChannel Channel, ulong Tag, long Epoch);
