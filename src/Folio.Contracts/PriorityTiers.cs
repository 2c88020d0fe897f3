namespace Folio.Contracts;

/// <summary>
/// Priority tiers (docs/contract.md, "Priority tiers"): with N &gt; 1 tiers a deployment has one
/// request queue per tier, <c>{queue}.p0</c> (most urgent) to <c>{queue}.p{N-1}</c>, and a request's
/// <c>priority</c> picks its tier. The default priority 0 lands in the middle tier (rounded towards
/// the urgent end); each step of priority moves one tier, and values past either end stay in the end
/// tier. So with 3 tiers: priority &lt; 0 is p0, 0 is p1, &gt; 0 is p2; with 2: &lt;= 0 is p0, &gt; 0 is p1.
/// </summary>
public static class PriorityTiers
{
    /// <summary>The most tiers a deployment may declare.</summary>
    public const int Max = 10;

    /// <summary>The direct exchange that routes by model name when a deployment serves several models on one broker.</summary>
    public const string DefaultModelExchange = "folio.models";

    /// <summary>The tier (0 = most urgent) of a request with this priority among <paramref name="tiers"/> tiers.</summary>
    public static int TierOf(int priority, int tiers)
    {
        if (tiers <= 1)
        {
            return 0;
        }

        long tier = DefaultTier(tiers) + (long)priority;
        return (int)Math.Clamp(tier, 0, tiers - 1);
    }

    /// <summary>The tier of the default priority (0); the plain queue and routing key feed it too.</summary>
    public static int DefaultTier(int tiers) => tiers <= 1 ? 0 : (tiers - 1) / 2;

    /// <summary>The queue of a tier: the plain queue name with one tier, else <c>{queue}.p{tier}</c>.</summary>
    public static string QueueName(string requestQueue, int tier, int tiers) =>
        tiers <= 1 ? requestQueue : $"{requestQueue}.p{tier}";

    /// <summary>The routing key on the model exchange: the model name with one tier, else <c>{model}.p{tier}</c>.</summary>
    public static string ModelRoutingKey(string model, int tier, int tiers) =>
        tiers <= 1 ? model : $"{model}.p{tier}";
}
