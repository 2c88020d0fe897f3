using System.Diagnostics;
using Folio.Contracts;

namespace Folio.Client.Tests;

/// <summary>
/// The headers the SDK puts on a request: the caller's trace context when nothing listens to the
/// SDK's own source (the gateway's case: ASP.NET Core's request activity is current), and always
/// the millisecond publish time.
/// </summary>
public sealed class PublishTracingTests
{
    [Fact]
    public void Without_a_listener_the_callers_current_activity_becomes_the_traceparent()
    {
        var previous = Activity.Current;
        using var request = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn");
        request.SetIdFormat(ActivityIdFormat.W3C);
        request.TraceStateString = "gw=1";
        request.Start();
        try
        {
            var headers = PublishTracing.Headers(PublishTracing.StartPublish("r1", string.Empty, "folio.requests"), 1_765_000_000_123);
            Assert.Equal($"00-{request.TraceId}-{request.SpanId}-00", headers[MessageHeaders.TraceParent]);
            Assert.Equal("gw=1", headers[MessageHeaders.TraceState]);
            Assert.Equal(1_765_000_000_123L, headers[MessageHeaders.PublishedAtMs]);
        }
        finally
        {
            request.Stop();
            Activity.Current = previous;
        }
    }

    [Fact]
    public void Without_any_activity_only_the_publish_time_is_set()
    {
        var previous = Activity.Current;
        Activity.Current = null;
        try
        {
            var headers = PublishTracing.Headers(null, 42);
            Assert.Equal([MessageHeaders.PublishedAtMs], headers.Keys);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    [Theory]
    [InlineData(1_765_000_000_123L, 1_765_000_000_123L)]
    [InlineData(17, 17L)]
    [InlineData("1765000000123", 1_765_000_000_123L)]
    [InlineData("12ms", null)]
    [InlineData(null, null)]
    public void The_publish_time_header_is_read_from_any_integer_type_or_its_text(object? value, long? expected)
    {
        object? wire = value is string s ? System.Text.Encoding.UTF8.GetBytes(s) : value;
        Assert.Equal(expected, MessageHeaders.AsInt64(wire));
    }
}
