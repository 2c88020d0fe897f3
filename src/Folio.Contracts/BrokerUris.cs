namespace Folio.Contracts;

/// <summary>
/// The RabbitMQ address of a worker or publisher: one amqp:// or amqps:// URI, or the nodes of a
/// cluster as several URIs separated by commas. A client connects to the first node that answers and,
/// when its connection is lost, reconnects through the same list, so a node that dies (the queue
/// leader included) costs a reconnect, not the service. All URIs must carry the same user, password
/// and virtual host: one login, several doors.
/// </summary>
public static class BrokerUris
{
    /// <summary>Splits and checks <paramref name="value"/>; the message of a failure names the key and never quotes the value (it may hold a password).</summary>
    /// <param name="key">The configuration key or option the value came from, for the message.</param>
    public static IReadOnlyList<Uri> Parse(string? value, string key)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new FormatException($"{key} is required (e.g. amqp://user:pass@host:5672/, or several nodes separated by commas)");
        }

        var uris = new List<Uri>();
        foreach (string part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var u) || u.Scheme is not ("amqp" or "amqps") || u.Host.Length == 0)
            {
                throw new FormatException($"{key}: address {uris.Count + 1} is not an amqp:// or amqps:// URI with a host");
            }

            if (uris.Count > 0 && (u.UserInfo != uris[0].UserInfo || u.AbsolutePath != uris[0].AbsolutePath || u.Scheme != uris[0].Scheme))
            {
                throw new FormatException($"{key}: address {uris.Count + 1} differs from the first in scheme, user, password or virtual host; the nodes of one cluster share them");
            }

            uris.Add(u);
        }

        return uris.Count > 0 ? uris : throw new FormatException($"{key} holds no address");
    }

    /// <summary>The addresses without user or password, for logs.</summary>
    public static string Redacted(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "(none)";
        }

        return string.Join(",", value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(part =>
            Uri.TryCreate(part, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Host}:{(u.Port > 0 ? u.Port : 5672)}{u.AbsolutePath}" : "(unparsable uri)"));
    }
}
