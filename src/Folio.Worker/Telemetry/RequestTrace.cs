using System.Diagnostics;
using Folio.Contracts;
using RabbitMQ.Client;
using static Folio.Worker.Telemetry.WorkerTracing;

namespace Folio.Worker.Telemetry;

/// <summary>What a request generated in this attempt, in Stopwatch ticks, for its prefill and decode spans.</summary>
internal readonly record struct GenerationTimes(bool RanInEngine, long FirstTokenAt, long LastTokenAt, int PromptTokens, int CompletionTokens);

/// <summary>
/// One delivery's spans. <c>folio.request</c> (consumer) runs from the delivery to its ack or hand-on,
/// a child of the publisher's <c>traceparent</c> when the message has one. Its children:
/// <c>folio.intake</c> (parse, validate, tokenize, admission; with <c>folio.take</c>, the Redis
/// take script, inside), <c>folio.prefill</c> (engine submission to the first token, so it includes
/// waiting for a batch slot), <c>folio.decode</c> (first to last token), <c>folio.stream_output</c>
/// (first to last Redis flush: one span per request, not per flush, with the flush count as an
/// attribute, since a flush per engine step would mean a span per token) and <c>folio.ack</c>.
/// <c>folio.queue_wait</c> runs from the millisecond publish header to the delivery, a child of the
/// publisher's span (of <c>folio.request</c> when there is none). Prefill, decode and output spans are
/// written when the request ends, with their real start and end times: nothing is recorded per token.
/// </summary>
internal sealed class RequestTrace
{
    private readonly Activity _request;
    private readonly long _anchorTicks = Stopwatch.GetTimestamp();
    private readonly DateTime _anchorUtc = DateTime.UtcNow;
    private Activity? _intake;
    private long _submittedAt;
    private long _firstFlushAt;
    private long _lastFlushAt;
    private int _flushes;
    private int _tokensWritten;
    private int _repairs;
    private string _outcome = "unanswered";
    private int _ended;

    private RequestTrace(Activity request)
    {
        _request = request;
    }

    /// <summary>Set once output and ack are the output pump's job: intake no longer ends the trace.</summary>
    public bool Held { get; private set; }

    public ActivityContext Context => _request.Context;

    /// <summary>The trace of a delivery just received; null when no one listens (tracing off) or the sampler drops it.</summary>
    public static RequestTrace? Begin(IReadOnlyBasicProperties props, string queue, string workerName, int attempt)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var headers = props.Headers;
        bool linked = ActivityContext.TryParse(
            MessageHeaders.AsString(MessageHeaders.Find(headers, MessageHeaders.TraceParent)),
            MessageHeaders.AsString(MessageHeaders.Find(headers, MessageHeaders.TraceState)),
            isRemote: true,
            out var parent);
        var now = DateTime.UtcNow;
        var request = StartDetached(Spans.Request, ActivityKind.Consumer, linked ? parent : default, now);
        if (request is null)
        {
            return null;
        }

        var trace = new RequestTrace(request);
        if (request.IsAllDataRequested)
        {
            request.SetTag(Attributes.MessagingSystem, "rabbitmq");
            request.SetTag(Attributes.MessagingOperation, "process");
            request.SetTag(Attributes.MessagingDestination, queue);
            request.SetTag(Attributes.Worker, workerName);
            request.SetTag(Attributes.Attempt, attempt);
        }

        if (MessageHeaders.AsInt64(MessageHeaders.Find(headers, MessageHeaders.PublishedAtMs)) is { } publishedMs)
        {
            trace.RecordQueueWait(publishedMs, linked ? parent : request.Context, now);
        }

        trace._intake = StartDetached(Spans.Intake, ActivityKind.Internal, request.Context, now);
        return trace;
    }

    private void RecordQueueWait(long publishedMs, ActivityContext parent, DateTime receivedUtc)
    {
        // Clocks differ between hosts: a publish time after the delivery counts as no wait.
        var published = DateTime.UnixEpoch.AddMilliseconds(publishedMs);
        if (published > receivedUtc)
        {
            published = receivedUtc;
        }

        _request.SetTag(Attributes.QueueWaitMs, (long)(receivedUtc - published).TotalMilliseconds);
        var wait = StartDetached(Spans.QueueWait, ActivityKind.Internal, parent, published);
        StopDetached(wait, receivedUtc);
    }

    /// <summary>The request's id and model, once parsed (the model it names, else the one this worker serves).</summary>
    public void Identify(string requestId, string model)
    {
        _request.SetTag(Attributes.RequestId, requestId);
        _request.SetTag(Attributes.Model, model);
    }

    /// <summary>A child of the intake span around the take script.</summary>
    public Activity? StartTake() => _intake is null ? null : StartDetached(Spans.Take, ActivityKind.Internal, _intake.Context, DateTime.UtcNow);

    /// <summary>A child of the request span around an acknowledgement.</summary>
    public Activity? StartAck() => StartDetached(Spans.Ack, ActivityKind.Internal, _request.Context, DateTime.UtcNow);

    /// <summary>The engine has the request (or the worker finishes it itself): intake ends, the output pump owns the rest.</summary>
    public void HandToPump(int resumeIndex)
    {
        _submittedAt = Stopwatch.GetTimestamp();
        _request.SetTag(Attributes.ResumeIndex, resumeIndex);
        Held = true;
        StopDetached(Interlocked.Exchange(ref _intake, null));
    }

    /// <summary>An answer without generation (an error entry), or how the delivery left this worker.</summary>
    public void Outcome(string outcome, string? errorCode = null)
    {
        _outcome = outcome;
        if (errorCode is not null)
        {
            _request.SetTag(Attributes.ErrorType, errorCode);
            _request.SetStatus(ActivityStatusCode.Error, errorCode);
        }
    }

    /// <summary>The request ended with a done entry.</summary>
    public void Finished(string finishReason)
    {
        _outcome = "done";
        _request.SetTag(Attributes.FinishReason, new[] { finishReason });
    }

    /// <summary>Submission failed after <see cref="HandToPump"/>: the output pump will not see the request, so intake ends the trace again.</summary>
    public void Unhold() => Held = false;

    /// <summary>One flush of the output pump that wrote this request's entries (called once per flush, not per token).</summary>
    public void Flushed(long startedAt, long endedAt, int tokens)
    {
        if (_flushes++ == 0)
        {
            _firstFlushAt = startedAt;
        }

        _lastFlushAt = endedAt;
        _tokensWritten += tokens;
    }

    /// <summary>Redis held less than this worker wrote, and the stream was rewritten.</summary>
    public void Repaired() => _repairs++;

    /// <summary>Ends every span (once; later calls do nothing), writing the generation spans from <paramref name="times"/>.</summary>
    public void End(GenerationTimes? times = null)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        StopDetached(Interlocked.Exchange(ref _intake, null));
        var now = DateTime.UtcNow;
        if (_submittedAt != 0 && times is { RanInEngine: true } t)
        {
            // Only a request the engine ran has a prefill (a cancel before start is answered without it).
            var submitted = At(_submittedAt);
            var firstToken = t.FirstTokenAt != 0 ? At(t.FirstTokenAt) : now;
            StopDetached(StartDetached(Spans.Prefill, ActivityKind.Internal, _request.Context, submitted), firstToken);
            if (t.FirstTokenAt != 0)
            {
                StopDetached(StartDetached(Spans.Decode, ActivityKind.Internal, _request.Context, firstToken), At(t.LastTokenAt));
            }

            _request.SetTag(Attributes.InputTokens, t.PromptTokens);
            _request.SetTag(Attributes.OutputTokens, t.CompletionTokens);
        }

        if (_flushes > 0)
        {
            var output = StartDetached(Spans.StreamOutput, ActivityKind.Internal, _request.Context, At(_firstFlushAt));
            output?.SetTag(Attributes.Flushes, _flushes);
            output?.SetTag(Attributes.TokensWritten, _tokensWritten);
            output?.SetTag(Attributes.StreamRepairs, _repairs);
            StopDetached(output, At(_lastFlushAt));
        }

        _request.SetTag(Attributes.Outcome, _outcome);
        StopDetached(_request, now);
    }

    /// <summary>A Stopwatch timestamp as UTC time (against the wall clock read when the delivery arrived).</summary>
    private DateTime At(long ticks) => _anchorUtc + Stopwatch.GetElapsedTime(_anchorTicks, ticks);
}
