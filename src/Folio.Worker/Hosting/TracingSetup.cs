using Folio.Worker.Options;
using Folio.Worker.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Folio.Worker.Hosting;

/// <summary>
/// The one place the OpenTelemetry SDK is configured. The worker's code only uses
/// System.Diagnostics.ActivitySource; without Folio:Telemetry:OtlpEndpoint no TracerProvider is
/// registered, nothing listens to the source, and no span is created.
/// </summary>
internal static class TracingSetup
{
    public static void AddFolioTracing(this IServiceCollection services, TelemetryOptions options)
    {
        if (!options.Enabled || !Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out _))
        {
            return; // Off, or invalid: the options validator stops the worker at start naming the key.
        }

        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithTracing(t => t
                .AddSource(WorkerTracing.SourceName)
                // Follow the publisher's decision when its traceparent carries one, so a trace is whole or absent.
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(Math.Clamp(options.SampleRatio, 0, 1))))
                .AddOtlpExporter(o =>
                {
                    o.Endpoint = options.ExportEndpoint();
                    o.Protocol = options.UsesHttp ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                }));
    }
}
