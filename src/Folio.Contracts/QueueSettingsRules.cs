namespace Folio.Contracts;

/// <summary>
/// The checks of the Folio:RabbitMq settings that shape the request queues and must be equal in
/// every worker and publisher of a deployment (tiers, bounds, the model exchange): one set of rules
/// and messages, naming the key, for the worker and the gateway alike.
/// </summary>
public static class QueueSettingsRules
{
    public static IEnumerable<string> Problems(int priorityTiers, long maxLength, long maxLengthBytes, string modelExchange)
    {
        if (priorityTiers is < 1 or > PriorityTiers.Max)
        {
            yield return $"Folio:RabbitMq:PriorityTiers must be 1-{PriorityTiers.Max} (1: one request queue); got {priorityTiers}";
        }

        if (maxLength < 0)
        {
            yield return $"Folio:RabbitMq:MaxLength must be >= 0 (0: unbounded); got {maxLength}";
        }

        if (maxLengthBytes < 0)
        {
            yield return $"Folio:RabbitMq:MaxLengthBytes must be >= 0 (0: unbounded); got {maxLengthBytes}";
        }

        if (modelExchange.Length > 200 || modelExchange.StartsWith("amq.", StringComparison.Ordinal))
        {
            yield return "Folio:RabbitMq:ModelExchange must be an exchange name of at most 200 characters not starting with 'amq.' (empty: no model exchange)";
        }
    }
}
