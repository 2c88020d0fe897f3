namespace Folio.Worker.Options;

/// <summary>Forms of connection settings that are safe to log: no user names, no passwords.</summary>
internal static class Redaction
{
    /// <summary>scheme://host:port/vhost, without user info.</summary>
    public static string AmqpEndpoint(string uri) => Contracts.BrokerUris.Redacted(uri);

    /// <summary>The endpoints of a Redis configuration string, without password or user.</summary>
    public static string RedisEndpoints(string configuration)
    {
        try
        {
            var c = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
            return string.Join(",", c.EndPoints.Select(e => e.ToString())) + (c.Ssl ? " (tls)" : string.Empty);
        }
        catch (ArgumentException)
        {
            return "(unparsable configuration)";
        }
    }
}
