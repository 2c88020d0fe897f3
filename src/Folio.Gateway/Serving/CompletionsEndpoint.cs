using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Folio.Client;
using Folio.Contracts;
using Folio.Gateway.Auth;
using Folio.Gateway.Models;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;
using StreamEntry = Folio.Client.StreamEntry;

namespace Folio.Gateway.Serving;

/// <summary>
/// POST /v1/chat/completions and /v1/completions: read and check the body, publish one contract
/// request (confirmed), read its Redis stream and answer in OpenAI's shape, whole or as SSE. A client
/// that goes away gets its request cancelled; a deadline that passes does too (504). When the gateway
/// itself stops, requests keep running: another gateway can serve their streams.
/// </summary>
public sealed class CompletionsEndpoint(
    RequestSubmitter submitter,
    StreamFollower follower,
    ModelAccess models,
    IOptions<GatewayOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<CompletionsEndpoint> log)
{
    private static readonly TimeSpan CancelPublishTimeout = TimeSpan.FromSeconds(5);
    private readonly GatewayOptions _options = options.Value;

    public async Task HandleAsync(HttpContext context, CompletionKind kind)
    {
        long started = Stopwatch.GetTimestamp();
        var caller = Caller.Of(context) ?? throw new InvalidOperationException("the caller is set by authentication before any endpoint runs");
        string kindName = kind == CompletionKind.Chat ? "chat" : "completion";
        TranslatedRequest request;
        bool clientChosenId;
        int afterIndex;
        long? deadline;
        try
        {
            using var body = await JsonBody.ReadAsync(context, _options.MaxRequestBodyBytes, "send a shorter prompt").ConfigureAwait(false);
            deadline = RequestHeaders.Deadline(context.Request.Headers, time.GetUtcNow());
            (string id, clientChosenId) = RequestHeaders.RequestIdFor(context.Request.Headers, kind, caller);
            afterIndex = clientChosenId ? RequestHeaders.AfterIndex(context.Request.Headers) : -1;
            request = RequestTranslator.Translate(body.RootElement, kind, id, deadline, _options.DefaultChatMaxTokens);
            await models.CheckAsync(request.Model, caller).ConfigureAwait(false);
        }
        catch (OpenAiException e)
        {
            Log.Refused(log, kindName, caller.Name, e.Status, e.Code ?? e.Type);
            await e.WriteResponseAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.Headers[RequestHeaders.RequestId] = request.RequestId;
        try
        {
            if (!await submitter.SubmitAsync(request, clientChosenId, context.RequestAborted).ConfigureAwait(false))
            {
                Log.Attached(log, request.RequestId, afterIndex);
            }
        }
        catch (QueueFullException e)
        {
            Log.Refused(log, kindName, caller.Name, 429, QueueFullException.Code);
            await OpenAiException.QueueFull(e.Message).WriteResponseAsync(context).ConfigureAwait(false);
            return;
        }
        catch (ModelNotRoutedException e)
        {
            // Folio:RabbitMq:ModelExchange: no worker bound the model's routing key.
            Log.Refused(log, kindName, caller.Name, 404, ModelNotRoutedException.Code);
            await OpenAiException.FromWorker(ModelNotRoutedException.Code, e.Message, "prompt").WriteResponseAsync(context).ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is RequestNotRoutedException or BrokerUnreachableException or AlreadyClosedException or OperationInterruptedException or StackExchange.Redis.RedisException)
        {
            Log.PublishFailed(log, e.Message);
            await new OpenAiException(503, "the request could not be queued (the broker or Redis is unreachable); retry shortly", "server_error", null, "queue_unavailable").WriteResponseAsync(context).ConfigureAwait(false);
            return;
        }

        using var deadlineCts = new CancellationTokenSource();
        if (deadline is { } d)
        {
            deadlineCts.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, d - time.GetUtcNow().ToUnixTimeMilliseconds())));
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, deadlineCts.Token, lifetime.ApplicationStopping);
        var outcome = new Outcome();
        try
        {
            if (request.Stream)
            {
                await StreamAsync(context, request, afterIndex, outcome, linked.Token).ConfigureAwait(false);
            }
            else
            {
                await CompleteAsync(context, request, outcome, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            await OnInterruptedAsync(context, request, outcome, deadlineCts.IsCancellationRequested).ConfigureAwait(false);
        }

        Log.Served(log, request.RequestId, kindName, caller.Name, outcome.Name, outcome.Usage.PromptTokens, outcome.Usage.CompletionTokens, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>What became of a request, for its log line.</summary>
    private sealed class Outcome
    {
        public string Name { get; set; } = "unfinished";

        public Usage Usage { get; set; }

        public bool HeadersSent { get; set; }
    }

    private async Task OnInterruptedAsync(HttpContext context, TranslatedRequest request, Outcome outcome, bool deadlinePassed)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested && !deadlinePassed)
        {
            // Not the client's wish: the request runs on, and a retry with Folio-Request-Id to another gateway reads it.
            outcome.Name = "left running (gateway stopping)";
            Log.LeftRunning(log, request.RequestId);
            context.Abort();
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(CancelPublishTimeout);
            await submitter.CancelAsync(request.RequestId, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.CancelFailed(log, request.RequestId, e.Message);
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            outcome.Name = "cancelled (client went away)";
            Log.ClientGone(log, request.RequestId);
            return;
        }

        outcome.Name = "cancelled (deadline)";
        Log.DeadlinePassed(log, request.RequestId);
        var error = OpenAiException.DeadlineExceeded();
        if (!outcome.HeadersSent)
        {
            await error.WriteResponseAsync(context).ConfigureAwait(false);
            return;
        }

        using var sse = new SseWriter(context.Response.BodyWriter);
        error.WriteTo(sse.BeginEvent(null));
        sse.EndEvent();
        await sse.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private async Task CompleteAsync(HttpContext context, TranslatedRequest request, Outcome outcome, CancellationToken ct)
    {
        var text = new StringBuilder();
        var logprobs = new List<TokenLogprobs>();
        await foreach (var e in follower.FollowAsync(request.RequestId, -1, ct).ConfigureAwait(false))
        {
            switch (e.Type)
            {
                case EntryTypes.Token:
                    text.Append(e.Text);
                    if (request.Logprobs && TokenLogprobs.From(e) is { } lp)
                    {
                        logprobs.Add(lp);
                    }

                    break;
                case EntryTypes.Error:
                    outcome.Name = "error " + e.ErrorCode;
                    await OpenAiException.FromWorker(e.ErrorCode, e.ErrorMessage, request.PromptParam).WriteResponseAsync(context).ConfigureAwait(false);
                    return;
                case EntryTypes.Done:
                    outcome.Name = "done " + e.FinishReason;
                    outcome.Usage = Usage.From(e);
                    context.Response.StatusCode = StatusCodes.Status200OK;
                    context.Response.ContentType = "application/json";
                    using (var w = new Utf8JsonWriter(context.Response.BodyWriter, OpenAiJson.WriterOptions))
                    {
                        new ReplyJson(request, time.GetUtcNow().ToUnixTimeSeconds()).Complete(w, e, e.Text ?? text.ToString(), logprobs);
                    }

                    await context.Response.BodyWriter.FlushAsync(ct).ConfigureAwait(false);
                    return;
            }
        }
    }

    /// <summary>
    /// The SSE reply. Headers wait for the first token or the request's error (at most
    /// StreamHeaderHoldMilliseconds), so that an error the worker finds is a real HTTP status;
    /// output is flushed whenever no further entry is already waiting.
    /// </summary>
    private async Task StreamAsync(HttpContext context, TranslatedRequest request, int afterIndex, Outcome outcome, CancellationToken ct)
    {
        var reply = new ReplyJson(request, time.GetUtcNow().ToUnixTimeSeconds());
        using var sse = new SseWriter(context.Response.BodyWriter);
        var holdUntil = Stopwatch.GetTimestamp() + (long)(_options.StreamHeaderHoldMilliseconds / 1000.0 * Stopwatch.Frequency);
        int textOffset = 0;
        await using var entries = follower.FollowAsync(request.RequestId, afterIndex, ct).GetAsyncEnumerator(ct);
        while (true)
        {
            var next = entries.MoveNextAsync();
            if (!next.IsCompleted)
            {
                if (outcome.HeadersSent)
                {
                    await sse.FlushAsync(ct).ConfigureAwait(false);
                }
                else
                {
                    var pending = next.AsTask();
                    var hold = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), holdUntil);
                    if (hold <= TimeSpan.Zero || await Task.WhenAny(pending, Task.Delay(hold, ct)).ConfigureAwait(false) != pending)
                    {
                        ct.ThrowIfCancellationRequested();
                        Open(context, reply, sse, outcome, afterIndex);
                        await sse.FlushAsync(ct).ConfigureAwait(false);
                    }

                    next = new ValueTask<bool>(pending);
                }
            }

            if (!await next.ConfigureAwait(false))
            {
                return;
            }

            var e = entries.Current;
            if (e.Type == EntryTypes.Error)
            {
                outcome.Name = "error " + e.ErrorCode;
                var error = OpenAiException.FromWorker(e.ErrorCode, e.ErrorMessage, request.PromptParam);
                if (!outcome.HeadersSent)
                {
                    await error.WriteResponseAsync(context).ConfigureAwait(false);
                    return;
                }

                error.WriteTo(sse.BeginEvent(null));
                sse.EndEvent();
                await sse.FlushAsync(ct).ConfigureAwait(false);
                return;
            }

            if (!outcome.HeadersSent)
            {
                Open(context, reply, sse, outcome, afterIndex);
            }

            if (e.Type == EntryTypes.Token)
            {
                // Every token is an event, also one whose text is empty (it completes no character
                // yet): event ids then run 0, 1, 2, ... without a gap, which is what Last-Event-ID resumes by.
                reply.TokenChunk(sse.BeginEvent(e.Index), e, textOffset);
                sse.EndEvent();
                textOffset += e.Text?.Length ?? 0;
                continue;
            }

            outcome.Name = "done " + e.FinishReason;
            outcome.Usage = Usage.From(e);
            reply.FinishChunk(sse.BeginEvent(null), e);
            sse.EndEvent();
            if (request.IncludeUsage)
            {
                reply.UsageChunk(sse.BeginEvent(null), e);
                sse.EndEvent();
            }

            sse.Done();
            await sse.FlushAsync(ct).ConfigureAwait(false);
            return;
        }
    }

    /// <summary>Sends the SSE headers and, for chat, the role chunk (not on a resumed stream: the client has it).</summary>
    private static void Open(HttpContext context, ReplyJson reply, SseWriter sse, Outcome outcome, int afterIndex)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        outcome.HeadersSent = true;
        if (afterIndex < 0 && reply.IsChat)
        {
            reply.RoleChunk(sse.BeginEvent(null));
            sse.EndEvent();
        }
    }
}
