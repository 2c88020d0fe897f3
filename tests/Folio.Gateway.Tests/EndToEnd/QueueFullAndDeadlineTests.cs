using System.Net;
using System.Text.Json;
using Folio.Gateway.Tests.Support;
using RabbitMQ.Client;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>
/// A gateway with no worker in front of a bounded request queue (x-max-length 1, reject-publish):
/// the broker's reject is a 429 queue_full, and a request whose deadline passes while it waits is
/// cancelled and answered 504.
/// </summary>
public sealed class QueueFullAndDeadlineTests
{
    [Fact]
    public async Task A_full_bounded_queue_is_a_429_and_a_passed_deadline_a_504()
    {
        await using var stack = await GatewayStack.StartAsync(workers: 0, gateways: 1, tag: "full", beforeGateways: async s =>
        {
            await using var rabbit = await new ConnectionFactory { Uri = new Uri(TestServers.RabbitUri) }.CreateConnectionAsync();
            await using var ch = await rabbit.CreateChannelAsync();
            await ch.QueueDeclareAsync(s.RequestQueue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?>
            {
                ["x-queue-type"] = "quorum",
                ["x-max-length"] = 1,
                ["x-overflow"] = "reject-publish",
            });
        });
        using var http = stack.Http();
        string body = """{"model":"any","prompt":"waiting","max_tokens":4}""";

        // The first fits in the queue; nobody serves it, so its deadline passes: 504, and a cancel goes out.
        using var first = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json(body) };
        first.Headers.Add("Folio-Deadline-Ms", "1500");
        var started = DateTime.UtcNow;
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        HttpResponseMessage timedOut;
        try
        {
            timedOut = await http.SendAsync(first, wait.Token);
        }
        catch (TaskCanceledException)
        {
            throw new TimeoutException("no answer within 30 s of a 1.5 s deadline; the gateway's log:\n" + stack.Gateways[0].Log);
        }

        using var disposeTimedOut = timedOut;
        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 1.4, 20);
        using (var doc = JsonDocument.Parse(await timedOut.Content.ReadAsStringAsync()))
        {
            Assert.Equal("deadline_exceeded", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        }

        // The queue still holds that message. A quorum queue applies reject-publish once it is over
        // its bound, so it may take one more (bound + 1) before the broker nacks: publish until the
        // 429, each with a deadline so an accepted one cannot hold the test, and at most twice more.
        HttpResponseMessage? full = null;
        for (int attempt = 0; attempt < 2 && full is null; attempt++)
        {
            using var next = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json(body) };
            next.Headers.Add("Folio-Deadline-Ms", "1500");
            var reply = await http.SendAsync(next, wait.Token);
            if (reply.StatusCode == HttpStatusCode.TooManyRequests)
            {
                full = reply;
            }
            else
            {
                Assert.Equal(HttpStatusCode.GatewayTimeout, reply.StatusCode);
                reply.Dispose();
            }
        }

        Assert.True(full is not null, "no 429 after the bound (1) plus the one a quorum queue may take over it");
        using var disposeFull = full;
        Assert.NotNull(full.Headers.RetryAfter);
        using var error = JsonDocument.Parse(await full.Content.ReadAsStringAsync());
        Assert.Equal("queue_full", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("full", error.RootElement.GetProperty("error").GetProperty("message").GetString()!, StringComparison.Ordinal);

        // And the gateway keeps serving what it can (the model list is empty: no worker).
        using var models = JsonDocument.Parse(await http.GetStringAsync("/v1/models"));
        Assert.Equal(0, models.RootElement.GetProperty("data").GetArrayLength());
    }
}
