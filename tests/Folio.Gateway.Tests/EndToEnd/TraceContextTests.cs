using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Folio.Contracts;
using Folio.Gateway.Tests.Support;
using RabbitMQ.Client;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>
/// A caller's W3C trace reaches the queue through the gateway: ASP.NET Core continues the
/// request's traceparent in its request activity, and the SDK publishes that activity's context
/// (with the millisecond publish time) in the message headers the worker reads.
/// </summary>
public sealed class TraceContextTests
{
    [Fact]
    public async Task A_callers_traceparent_reaches_the_request_message_under_the_gateways_request_span()
    {
        await using var stack = await GatewayStack.StartAsync(workers: 0, gateways: 1, tag: "trace");
        using var http = stack.Http();
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // Nobody serves the queue: the request waits out its deadline (504) and stays queued for us to read.
        string body = JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = "any", ["prompt"] = "traced", ["max_tokens"] = 2 });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json(body) };
        request.Headers.Add("Folio-Deadline-Ms", "1000");
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using var reply = await http.SendAsync(request);
        Assert.True(reply.StatusCode == HttpStatusCode.GatewayTimeout, $"{reply.StatusCode} {await reply.Content.ReadAsStringAsync()}");

        await using var rabbit = await new ConnectionFactory { Uri = new Uri(TestServers.RabbitUri) }.CreateConnectionAsync();
        await using var ch = await rabbit.CreateChannelAsync();
        var got = await ch.BasicGetAsync(stack.RequestQueue, autoAck: true);
        Assert.NotNull(got);
        var headers = got.BasicProperties.Headers;
        string? traceparent = MessageHeaders.AsString(MessageHeaders.Find(headers, MessageHeaders.TraceParent));
        Assert.NotNull(traceparent);
        Assert.True(ActivityContext.TryParse(traceparent, null, out var published), traceparent);
        Assert.Equal(traceId, published.TraceId);
        // The parent is the gateway's request span (a child of the caller's), not the caller's span itself.
        Assert.NotEqual(callerSpan, published.SpanId);
        Assert.Equal(ActivityTraceFlags.Recorded, published.TraceFlags);
        long? publishedMs = MessageHeaders.AsInt64(MessageHeaders.Find(headers, MessageHeaders.PublishedAtMs));
        Assert.NotNull(publishedMs);
        Assert.InRange(publishedMs.Value, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal("traced", JsonDocument.Parse(Encoding.UTF8.GetString(got.Body.Span)).RootElement.GetProperty("prompt").GetString());
    }
}
