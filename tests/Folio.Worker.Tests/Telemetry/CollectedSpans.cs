using System.Collections.ObjectModel;
using System.Diagnostics;
using Folio.Client;
using Folio.Worker.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Folio.Worker.Tests.Telemetry;

/// <summary>
/// An OpenTelemetry TracerProvider with the in-memory exporter over the SDK's and the worker's
/// sources, as an operator's OTLP setup would have them. Listeners are process-wide, so spans of
/// other tests running meanwhile arrive too: tests look at their own trace id only.
/// </summary>
internal sealed class CollectedSpans : IDisposable
{
    public static readonly ActivitySource TestSource = new("Folio.Worker.Tests.Tracing");

    private readonly LockedCollection _exported = new();
    private readonly TracerProvider _provider;

    public CollectedSpans()
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(TestSource.Name, PublishTracing.SourceName, WorkerTracing.SourceName)
            .AddInMemoryExporter(_exported)
            .Build();
    }

    /// <summary>Waits until the trace holds a span named <paramref name="last"/> (the worker ends folio.request after the ack), then returns the trace's spans.</summary>
    public async Task<IReadOnlyList<Activity>> TraceAsync(ActivityTraceId traceId, string last, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var spans = _exported.Snapshot().Where(a => a.TraceId == traceId).ToList();
            if (spans.Any(a => a.DisplayName == last) || DateTime.UtcNow > deadline)
            {
                return spans;
            }

            await Task.Delay(50);
        }
    }

    public void Dispose() => _provider.Dispose();

    /// <summary>The exporter appends from the threads that end spans while the test reads.</summary>
    private sealed class LockedCollection : Collection<Activity>
    {
        public Activity[] Snapshot()
        {
            lock (Items)
            {
                return [.. Items];
            }
        }

        protected override void InsertItem(int index, Activity item)
        {
            lock (Items)
            {
                base.InsertItem(index, item);
            }
        }
    }
}
