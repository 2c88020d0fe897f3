namespace Folio.Worker.Metrics;

/// <summary>
/// One request queue as /metrics reports it. <see cref="Ready"/> and <see cref="Consumers"/> are the
/// broker's figures for the whole queue (every worker reports the same; aggregate with max), null
/// when the broker could not be asked at this scrape. <see cref="Unacknowledged"/> is this worker's
/// share of the queue's unacknowledged messages (the deliveries it holds; sum across workers gives
/// the queue's): AMQP's passive declare tells ready messages and consumers, not unacknowledged ones.
/// </summary>
internal sealed record QueueDepth(string Queue, int Tier, long? Ready, long? Consumers, int Unacknowledged);
