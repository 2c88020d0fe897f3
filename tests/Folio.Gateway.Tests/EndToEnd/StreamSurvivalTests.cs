using System.Net;
using System.Text;
using System.Text.Json;
using Folio.Gateway.Tests.Support;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>Two workers and two gateways on one queue, for the tests that kill one of them.</summary>
public sealed class TwoOfEach : IAsyncLifetime
{
    public GatewayStack Stack { get; private set; } = null!;

    public async Task InitializeAsync() => Stack = await GatewayStack.StartAsync(workers: 2, gateways: 2, tag: "survive");

    public async Task DisposeAsync() => await Stack.DisposeAsync();
}

/// <summary>
/// Streams that outlive the process serving them: a worker killed with SIGKILL mid-stream (another
/// worker continues, the SSE client sees no seam), and a gateway killed mid-stream (the client
/// retries at another gateway with Folio-Request-Id and Last-Event-ID and gets the rest).
/// </summary>
public sealed class StreamSurvivalTests(TwoOfEach fixture) : IClassFixture<TwoOfEach>
{
    private const int MaxTokens = 160;

    private GatewayStack Stack => fixture.Stack;

    private string Body(bool stream) =>
        $$"""{"model":"{{Stack.Model}}","prompt":"A long story about queues","max_tokens":{{MaxTokens}},"temperature":0.8,"seed":2024,"ignore_eos":true,"stream":{{(stream ? "true" : "false")}}}""";

    /// <summary>The same request run without interruption (a fresh id, same seed: the same tokens by the determinism guarantee).</summary>
    private async Task<string> UninterruptedAsync(int gateway)
    {
        using var http = Stack.Http(gateway);
        using var r = await http.PostAsync("/v1/completions", GatewayStack.Json(Body(stream: false)));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    /// <summary>Reads token events until [DONE] (or <paramref name="stopAfter"/> tokens); checks indices run on without gap or repeat.</summary>
    private static async Task<(List<int> Indices, StringBuilder Text, string? Finish)> ReadAsync(SseReader sse, List<int> indices, StringBuilder text, int stopAfter = int.MaxValue, Func<int, Task>? onToken = null)
    {
        string? finish = null;
        while (indices.Count < stopAfter)
        {
            var e = await sse.NextAsync();
            if (e is null || e.IsDone)
            {
                break;
            }

            var choice = e.Json.GetProperty("choices");
            if (choice.GetArrayLength() == 0)
            {
                continue;
            }

            if (choice[0].GetProperty("finish_reason").ValueKind == JsonValueKind.String)
            {
                finish = choice[0].GetProperty("finish_reason").GetString();
                continue;
            }

            int index = int.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(indices.Count == 0 ? index : indices[^1] + 1, index);
            indices.Add(index);
            text.Append(choice[0].GetProperty("text").GetString());
            if (onToken is not null)
            {
                await onToken(indices.Count);
            }
        }

        return (indices, text, finish);
    }

    [Fact]
    public async Task A_worker_killed_mid_stream_is_replaced_without_a_missing_or_repeated_delta()
    {
        string expected = await UninterruptedAsync(gateway: 1);
        using var http = Stack.Http(1);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json(Body(stream: true)) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string requestId = response.Headers.GetValues("Folio-Request-Id").Single();
        using var sse = new SseReader(await response.Content.ReadAsStreamAsync());
        string? killed = null;
        var (indices, text, finish) = await ReadAsync(sse, [], new StringBuilder(), onToken: async n =>
        {
            if (n == 12 && killed is null)
            {
                var start = (await Stack.ReadStreamAsync(requestId)).First(e => (string?)e["type"] == "start");
                var worker = Stack.Workers.Single(w => w.Name == (string?)start["worker"]);
                worker.Kill();
                killed = worker.Name;
            }
        });

        Assert.NotNull(killed);
        Assert.Equal("length", finish);
        Assert.Equal(Enumerable.Range(0, MaxTokens), indices);
        Assert.Equal(expected, text.ToString());
        var starts = (await Stack.ReadStreamAsync(requestId)).Where(e => (string?)e["type"] == "start").ToList();
        Assert.True(starts.Count >= 2, "a second worker took the request over");
        Assert.NotEqual(killed, (string?)starts[^1]["worker"]);
        Assert.True((int)starts[^1]["resume_index"] > 0, "the second worker resumed after the tokens already in the stream");
    }

    [Fact]
    public async Task A_gateway_killed_mid_stream_leaves_the_request_running_and_another_gateway_serves_the_rest()
    {
        string expected = await UninterruptedAsync(gateway: 1);
        string clientId = "handover-" + Guid.NewGuid().ToString("N")[..8];
        var indices = new List<int>();
        var text = new StringBuilder();
        using (var first = Stack.Http(0))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json(Body(stream: true)) };
            request.Headers.Add("Folio-Request-Id", clientId);
            using var response = await first.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var sse = new SseReader(await response.Content.ReadAsStreamAsync());
            await ReadAsync(sse, indices, text, stopAfter: 10);
            Stack.Gateways[0].Kill();
        }

        // The retry names the same request and the last index it has: nothing is published again.
        using var second = Stack.Http(1);
        using var retry = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json(Body(stream: true)) };
        retry.Headers.Add("Folio-Request-Id", clientId);
        retry.Headers.Add("Last-Event-ID", indices[^1].ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var rest = await second.SendAsync(retry, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        string requestId = rest.Headers.GetValues("Folio-Request-Id").Single();
        using var restSse = new SseReader(await rest.Content.ReadAsStreamAsync());
        var (_, _, finish) = await ReadAsync(restSse, indices, text);
        Assert.Equal("length", finish);
        Assert.Equal(Enumerable.Range(0, MaxTokens), indices);
        Assert.Equal(expected, text.ToString());
        var entries = await Stack.ReadStreamAsync(requestId);
        Assert.Single(entries, e => (string?)e["type"] == "start");
    }

    [Fact]
    public async Task Chat_to_a_model_without_a_chat_template_is_a_clear_400_streamed_or_not()
    {
        using var http = Stack.Http(1);
        foreach (bool stream in new[] { false, true })
        {
            using var r = await http.PostAsync("/v1/chat/completions", GatewayStack.Json($$"""{"model":"{{Stack.Model}}","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"stream":{{(stream ? "true" : "false")}}}"""));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            var error = doc.RootElement.GetProperty("error");
            Assert.Equal("unsupported", error.GetProperty("code").GetString());
            Assert.Contains("chat template", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
        }
    }
}
