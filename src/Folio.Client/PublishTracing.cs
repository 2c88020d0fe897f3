using System.Diagnostics;
using Folio.Contracts;

namespace Folio.Client;

/// <summary>
/// Trace context for published requests. The SDK records a "folio.publish" producer span when an
/// ActivityListener (an OpenTelemetry TracerProvider with <see cref="SourceName"/> added) listens,
/// and otherwise passes on the caller's own <see cref="Activity.Current"/> (an ASP.NET Core request,
/// say): either way the message's <c>traceparent</c> header makes the worker's spans children of
/// it. Without either there is nothing to link, and only the publish timestamp is set.
/// </summary>
public static class PublishTracing
{
    /// <summary>The ActivitySource name to add to a TracerProvider for the SDK's publish spans.</summary>
    public const string SourceName = "Folio.Client";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the publish span (null when nobody listens); the caller stops it once the broker confirmed.</summary>
    internal static Activity? StartPublish(string requestId, string exchange, string routingKey)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("folio.publish", ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.operation.type", "send");
            activity.SetTag("messaging.destination.name", exchange.Length > 0 ? exchange : routingKey);
            activity.SetTag("messaging.rabbitmq.destination.routing_key", routingKey);
            activity.SetTag("folio.request_id", requestId);
        }

        return activity;
    }

    /// <summary>Records a failed publish on its span; always false, for use as an exception filter that lets the exception pass to the handlers after it.</summary>
    internal static bool MarkFailed(Activity? publish, Exception e)
    {
        publish?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
        return false;
    }

    /// <summary>
    /// The headers of a request message: the publish time in milliseconds, and the trace context of
    /// <paramref name="activity"/> (the publish span, or else the caller's current activity) through
    /// the process's <see cref="DistributedContextPropagator"/> (W3C traceparent/tracestate by default).
    /// </summary>
    internal static Dictionary<string, object?> Headers(Activity? activity, long publishedAtMs)
    {
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal) { [MessageHeaders.PublishedAtMs] = publishedAtMs };
        if ((activity ?? Activity.Current) is { } context)
        {
            DistributedContextPropagator.Current.Inject(context, headers, static (carrier, name, value) =>
            {
                if (carrier is Dictionary<string, object?> h && value is not null)
                {
                    h[name] = value;
                }
            });
        }

        return headers;
    }
}
