using System.Diagnostics;

namespace Folio.Worker.Telemetry;

/// <summary>
/// The worker's ActivitySource and the names of its spans and attributes (docs/operations.md,
/// "Tracing"). With no listener (Folio:Telemetry:OtlpEndpoint empty and no test listening) nothing
/// is created: <see cref="RequestTrace.Begin"/> returns null and every call site skips.
/// </summary>
internal static class WorkerTracing
{
    public const string SourceName = "Folio.Worker";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Span names, one per stage of a request in the worker.</summary>
    public static class Spans
    {
        public const string Request = "folio.request";
        public const string QueueWait = "folio.queue_wait";
        public const string Intake = "folio.intake";
        public const string Take = "folio.take";
        public const string Prefill = "folio.prefill";
        public const string Decode = "folio.decode";
        public const string StreamOutput = "folio.stream_output";
        public const string Ack = "folio.ack";
    }

    /// <summary>Attribute names: Folio's own under folio.*, the rest from OpenTelemetry's semantic conventions. Never prompt or output text.</summary>
    public static class Attributes
    {
        public const string RequestId = "folio.request_id";
        public const string Model = "gen_ai.request.model";
        public const string Attempt = "folio.attempt";
        public const string Worker = "folio.worker";
        public const string Outcome = "folio.outcome";
        public const string QueueWaitMs = "folio.queue_wait_ms";
        public const string ResumeIndex = "folio.resume_index";
        public const string Flushes = "folio.flushes";
        public const string TokensWritten = "folio.tokens_written";
        public const string StreamRepairs = "folio.stream_repairs";
        public const string FinishReason = "gen_ai.response.finish_reasons";
        public const string InputTokens = "gen_ai.usage.input_tokens";
        public const string OutputTokens = "gen_ai.usage.output_tokens";
        public const string ErrorType = "error.type";
        public const string MessagingSystem = "messaging.system";
        public const string MessagingOperation = "messaging.operation.type";
        public const string MessagingDestination = "messaging.destination.name";
    }

    /// <summary>
    /// Starts a span without making it <see cref="Activity.Current"/>: the worker's spans outlive the
    /// async flow that starts them (a request's span ends on the output pump's loop), and a span left
    /// current there would become the parent of whatever that loop does next.
    /// </summary>
    public static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent, DateTime startUtc)
    {
        var previous = Activity.Current;
        var activity = Source.StartActivity(name, kind, parent, startTime: startUtc);
        Activity.Current = previous;
        return activity;
    }

    /// <summary>Ends a span started with <see cref="StartDetached"/> (at <paramref name="endUtc"/>, or now), leaving <see cref="Activity.Current"/> as it was.</summary>
    public static void StopDetached(Activity? activity, DateTime? endUtc = null)
    {
        if (activity is null || activity.IsStopped)
        {
            return;
        }

        var previous = Activity.Current;
        if (endUtc is { } end)
        {
            activity.SetEndTime(end < activity.StartTimeUtc ? activity.StartTimeUtc : end);
        }

        activity.Stop();
        Activity.Current = previous;
    }
}
