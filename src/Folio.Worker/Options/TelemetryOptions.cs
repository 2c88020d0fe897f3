using Microsoft.Extensions.Options;

namespace Folio.Worker.Options;

/// <summary>Folio:Telemetry: OpenTelemetry trace export. Off by default: no exporter, no listener, no spans created.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Folio:Telemetry";

    /// <summary>The OTLP collector, e.g. http://otel-collector:4317 (gRPC) or http://otel-collector:4318 (http/protobuf); empty: tracing off.</summary>
    public string OtlpEndpoint { get; set; } = string.Empty;

    /// <summary>"grpc" (default, port 4317) or "http/protobuf" (port 4318; a URL without a path gets /v1/traces).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>The service.name resource attribute of every span.</summary>
    public string ServiceName { get; set; } = "folio-worker";

    /// <summary>
    /// Share of traces recorded (0-1) for requests whose publisher sent no sampled traceparent; a
    /// publisher's sampling decision is followed (parent-based), so one trace is whole or absent.
    /// </summary>
    public double SampleRatio { get; set; } = 1.0;

    public bool Enabled => !string.IsNullOrWhiteSpace(OtlpEndpoint);

    public bool UsesHttp => string.Equals(OtlpProtocol, "http/protobuf", StringComparison.OrdinalIgnoreCase);

    /// <summary>The exporter's endpoint: as given, except that an http/protobuf URL without a path gets the traces path.</summary>
    public Uri ExportEndpoint()
    {
        var uri = new Uri(OtlpEndpoint, UriKind.Absolute);
        return UsesHttp && uri.AbsolutePath == "/" ? new Uri(uri, "v1/traces") : uri;
    }
}

internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions o)
    {
        var errors = new List<string>();
        if (o.Enabled && (!Uri.TryCreate(o.OtlpEndpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add("Folio:Telemetry:OtlpEndpoint must be an http:// or https:// URL of an OTLP collector (e.g. http://otel-collector:4317), or empty for no tracing");
        }

        if (!string.Equals(o.OtlpProtocol, "grpc", StringComparison.OrdinalIgnoreCase) && !o.UsesHttp)
        {
            errors.Add($"Folio:Telemetry:OtlpProtocol must be grpc or http/protobuf; got '{o.OtlpProtocol}'");
        }

        if (string.IsNullOrWhiteSpace(o.ServiceName))
        {
            errors.Add("Folio:Telemetry:ServiceName must not be empty (it names the worker in traces; default folio-worker)");
        }

        if (double.IsNaN(o.SampleRatio) || o.SampleRatio is < 0 or > 1)
        {
            errors.Add($"Folio:Telemetry:SampleRatio must be between 0 and 1 (1: every trace); got {o.SampleRatio}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
