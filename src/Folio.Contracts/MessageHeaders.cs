using System.Globalization;
using System.Text;

namespace Folio.Contracts;

/// <summary>
/// AMQP headers a publisher may set on a request message (docs/contract.md, "Message headers").
/// All are optional: a message without them is served the same, only without a linked trace and
/// with queue time at the AMQP timestamp's one-second resolution.
/// </summary>
public static class MessageHeaders
{
    /// <summary>W3C Trace Context <c>traceparent</c> (<c>00-{trace id}-{parent span id}-{flags}</c>): the worker's spans join that trace.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>W3C Trace Context <c>tracestate</c>, passed on with <see cref="TraceParent"/>.</summary>
    public const string TraceState = "tracestate";

    /// <summary>
    /// When the message was published, in milliseconds since the Unix epoch (an integer, or its
    /// decimal text). The name is the one RabbitMQ's rabbitmq_message_timestamp plugin sets, so a
    /// broker with that plugin fills it for publishers that do not.
    /// </summary>
    public const string PublishedAtMs = "timestamp_in_ms";

    /// <summary>A header's value, or null when the message has no headers or not this one.</summary>
    public static object? Find(IDictionary<string, object?>? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>A header value as text: AMQP long strings arrive as UTF-8 bytes; null when absent or of another type.</summary>
    public static string? AsString(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string s => s,
        _ => null,
    };

    /// <summary>A header value as an integer (any AMQP integer type, or decimal text); null when absent or unreadable.</summary>
    public static long? AsInt64(object? value) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        sbyte b => b,
        uint u => u,
        ushort us => us,
        byte ub => ub,
        ulong ul when ul <= long.MaxValue => (long)ul,
        byte[] or string when long.TryParse(AsString(value), NumberStyles.None, CultureInfo.InvariantCulture, out long parsed) => parsed,
        _ => null,
    };
}
