using System.Diagnostics;
using System.Text;
using Folio.Contracts;
using Folio.Worker.Options;
using Folio.Worker.Telemetry;
using Folio.Worker.Tests.Queues;
using static Folio.Worker.Telemetry.WorkerTracing;

namespace Folio.Worker.Tests.Telemetry;

/// <summary>
/// One request's whole trace, publisher to ack, through a real broker and Redis and a worker in
/// this process, collected by OpenTelemetry's in-memory exporter: every span in the publisher's
/// trace, each under the right parent, with the request id and model and no prompt text.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class TracingTests(ServersFixture servers)
{
    private const string Prompt = "a secret prompt that must stay out of traces";

    [Fact]
    public async Task A_request_published_by_the_sdk_is_one_trace_from_the_callers_span_to_the_workers_ack()
    {
        var names = new TestNames("trace-sdk");
        using var spans = new CollectedSpans();
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        await using var client = await TierNames.ClientAsync(servers, names);
        var reader = new ForeignClient(servers, names);

        ActivityTraceId traceId;
        ActivitySpanId callerSpan;
        using (var caller = CollectedSpans.TestSource.StartActivity("caller"))
        {
            Assert.NotNull(caller);
            traceId = caller.TraceId;
            callerSpan = caller.SpanId;
            await client.SubmitRawAsync("traced", Encoding.UTF8.GetBytes($$"""{"request_id": "traced", "prompt": "{{Prompt}}", "max_tokens": 6}"""));
        }

        Assert.Equal("done", (await reader.WaitTerminalAsync("traced", TimeSpan.FromSeconds(30)))[^1]["type"]);
        var trace = await spans.TraceAsync(traceId, Spans.Request, TimeSpan.FromSeconds(15));

        var publish = Single(trace, "folio.publish");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(callerSpan, publish.ParentSpanId);
        Assert.Equal("traced", publish.GetTagItem(Attributes.RequestId));

        var request = Single(trace, Spans.Request);
        Assert.Equal(ActivityKind.Consumer, request.Kind);
        Assert.Equal(publish.SpanId, request.ParentSpanId);
        Assert.Equal("traced", request.GetTagItem(Attributes.RequestId));
        Assert.Equal("fake", request.GetTagItem(Attributes.Model));
        Assert.Equal(names.RequestQueue, request.GetTagItem(Attributes.MessagingDestination));
        Assert.Equal("done", request.GetTagItem(Attributes.Outcome));
        Assert.Equal(6, request.GetTagItem(Attributes.OutputTokens));
        Assert.NotNull(request.GetTagItem(Attributes.QueueWaitMs));

        // Queue wait hangs under the publisher's span: it starts at the SDK's millisecond publish time.
        var wait = Single(trace, Spans.QueueWait);
        Assert.Equal(publish.SpanId, wait.ParentSpanId);
        Assert.True(wait.StartTimeUtc >= publish.StartTimeUtc.AddMilliseconds(-1), $"queue wait starts {wait.StartTimeUtc:O}, before the publish {publish.StartTimeUtc:O}");
        Assert.True(wait.StartTimeUtc + wait.Duration <= request.StartTimeUtc.AddMilliseconds(1));

        foreach (string child in new[] { Spans.Intake, Spans.Prefill, Spans.Decode, Spans.StreamOutput, Spans.Ack })
        {
            Assert.Equal(request.SpanId, Single(trace, child).ParentSpanId);
        }

        Assert.Equal(Single(trace, Spans.Intake).SpanId, Single(trace, Spans.Take).ParentSpanId);

        // The stages follow each other: intake, prefill up to the first token, decode, then the ack.
        var prefill = Single(trace, Spans.Prefill);
        var decode = Single(trace, Spans.Decode);
        Assert.True(prefill.StartTimeUtc >= Single(trace, Spans.Intake).StartTimeUtc);
        Assert.Equal(prefill.StartTimeUtc + prefill.Duration, decode.StartTimeUtc);
        Assert.True(Single(trace, Spans.Ack).StartTimeUtc >= decode.StartTimeUtc + decode.Duration);
        var output = Single(trace, Spans.StreamOutput);
        Assert.True((int)output.GetTagItem(Attributes.Flushes)! >= 1);
        Assert.Equal(6, output.GetTagItem(Attributes.TokensWritten));

        // Every span of the trace is the publisher's or the worker's, and none quotes the prompt.
        Assert.All(trace, a => Assert.Contains(a.Source.Name, new[] { CollectedSpans.TestSource.Name, "Folio.Client", SourceName }));
        Assert.All(trace, a => Assert.All(a.TagObjects, t => Assert.DoesNotContain("secret prompt", t.Value?.ToString() ?? string.Empty, StringComparison.Ordinal)));
        Assert.Equal(10, trace.Count);
    }

    [Fact]
    public async Task A_foreign_publishers_traceparent_and_millisecond_timestamp_header_place_the_workers_spans_in_its_trace()
    {
        var names = new TestNames("trace-foreign");
        using var spans = new CollectedSpans();
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        var client = new ForeignClient(servers, names);
        var traceId = ActivityTraceId.CreateRandom();
        var parentSpan = ActivitySpanId.CreateRandom();
        long publishedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 250;
        var headers = new Dictionary<string, object?>
        {
            // As a publisher in another language would send them: plain strings (UTF-8 bytes on the wire) and an integer.
            [MessageHeaders.TraceParent] = $"00-{traceId}-{parentSpan}-01",
            [MessageHeaders.TraceState] = "vendor=abc",
            [MessageHeaders.PublishedAtMs] = publishedMs,
        };
        await client.PublishAsync("""{"request_id": "foreign-traced", "prompt": "hi", "max_tokens": 3}""", headers: headers);

        Assert.Equal("done", (await client.WaitTerminalAsync("foreign-traced", TimeSpan.FromSeconds(30)))[^1]["type"]);
        var trace = await spans.TraceAsync(traceId, Spans.Request, TimeSpan.FromSeconds(15));

        var request = Single(trace, Spans.Request);
        Assert.Equal(parentSpan, request.ParentSpanId);
        Assert.Equal("vendor=abc", request.TraceStateString);
        var wait = Single(trace, Spans.QueueWait);
        Assert.Equal(parentSpan, wait.ParentSpanId);
        Assert.Equal(DateTime.UnixEpoch.AddMilliseconds(publishedMs), wait.StartTimeUtc);
        Assert.True((long)request.GetTagItem(Attributes.QueueWaitMs)! >= 250);
        Assert.Equal("foreign-traced", request.GetTagItem(Attributes.RequestId));
    }

    [Fact]
    public async Task A_rejected_request_ends_its_trace_with_the_error_code_and_an_ack()
    {
        var names = new TestNames("trace-reject");
        using var spans = new CollectedSpans();
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        var client = new ForeignClient(servers, names);
        var traceId = ActivityTraceId.CreateRandom();
        var headers = new Dictionary<string, object?> { [MessageHeaders.TraceParent] = $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01" };
        await client.PublishAsync("""{"request_id": "traced-bad", "prompt": "hi", "top_p": 1.5}""", headers: headers);

        Assert.Equal("error", (await client.WaitTerminalAsync("traced-bad", TimeSpan.FromSeconds(30)))[^1]["type"]);
        var trace = await spans.TraceAsync(traceId, Spans.Request, TimeSpan.FromSeconds(15));

        var request = Single(trace, Spans.Request);
        Assert.Equal(ActivityStatusCode.Error, request.Status);
        Assert.Equal(ErrorCodes.InvalidRequest, request.GetTagItem(Attributes.ErrorType));
        Assert.Equal("error_entry", request.GetTagItem(Attributes.Outcome));
        Assert.Equal(request.SpanId, Single(trace, Spans.Ack).ParentSpanId);
        Assert.DoesNotContain(trace, a => a.DisplayName is Spans.Prefill or Spans.Decode);
    }

    [Fact]
    public void Telemetry_options_name_the_key_of_each_bad_value()
    {
        var bad = new TelemetryOptions { OtlpEndpoint = "collector:4317", OtlpProtocol = "udp", ServiceName = " ", SampleRatio = 1.5 };
        var result = new TelemetryOptionsValidator().Validate(null, bad);
        Assert.True(result.Failed);
        foreach (string key in new[] { "OtlpEndpoint", "OtlpProtocol", "ServiceName", "SampleRatio" })
        {
            Assert.Contains(result.Failures!, f => f.StartsWith("Folio:Telemetry:" + key, StringComparison.Ordinal));
        }

        Assert.True(new TelemetryOptionsValidator().Validate(null, new TelemetryOptions()).Succeeded);
        Assert.Equal("http://c:4318/v1/traces", new TelemetryOptions { OtlpEndpoint = "http://c:4318", OtlpProtocol = "http/protobuf" }.ExportEndpoint().ToString());
        Assert.Equal("http://c:4317/", new TelemetryOptions { OtlpEndpoint = "http://c:4317" }.ExportEndpoint().ToString());
    }

    private static Activity Single(IReadOnlyList<Activity> trace, string name)
    {
        var found = trace.Where(a => a.DisplayName == name).ToList();
        Assert.True(found.Count == 1, $"expected one {name} span in the trace, found {found.Count}: {string.Join(", ", trace.Select(a => a.DisplayName))}");
        return found[0];
    }
}
