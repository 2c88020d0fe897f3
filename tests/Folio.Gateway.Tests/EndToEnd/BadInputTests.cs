using System.Net;
using System.Text;
using System.Text.Json;
using Folio.Gateway.Tests.Support;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>Bad input over raw HTTP: each gets the right status and OpenAI's error body, and the gateway keeps serving.</summary>
[Collection(SharedStackCollection.Name)]
public sealed class BadInputTests(SharedStack shared)
{
    private GatewayStack Stack => shared.Stack;

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage r)
    {
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error").Clone();
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error;
    }

    private async Task<(HttpStatusCode Status, JsonElement Error)> PostAsync(string path, HttpContent content, string? key = GatewayStack.Key, bool expectContinue = false)
    {
        using var http = Stack.Http(key: key);
        // A client sending a large body asks first (Expect: 100-continue), so a refusal arrives before the body is sent.
        http.DefaultRequestHeaders.ExpectContinue = expectContinue;
        using var r = await http.PostAsync(path, content);
        return (r.StatusCode, await ErrorOf(r));
    }

    [Fact]
    public async Task Each_bad_request_gets_its_status_and_error_shape_and_a_good_one_is_still_served()
    {
        string m = Stack.Model;
        var cases = new (string Name, Func<Task<(HttpStatusCode, JsonElement)>> Send, HttpStatusCode Status, string? Code, string? Param)[]
        {
            ("invalid JSON", () => PostAsync("/v1/completions", GatewayStack.Json("{\"model\": \"x\", ")), HttpStatusCode.BadRequest, "invalid_json", null),
            ("not an object", () => PostAsync("/v1/completions", GatewayStack.Json("[1,2]")), HttpStatusCode.BadRequest, "invalid_type", null),
            ("wrong type", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"x","max_tokens":"ten"}""")), HttpStatusCode.BadRequest, "invalid_type", "max_tokens"),
            ("wrong type in chat", () => PostAsync("/v1/chat/completions", GatewayStack.Json($$$"""{"model":"{{{m}}}","messages":{"role":"user"}}""")), HttpStatusCode.BadRequest, "invalid_type", "messages"),
            ("out of range", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"x","presence_penalty":9}""")), HttpStatusCode.BadRequest, "invalid_value", "presence_penalty"),
            ("n > 1", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"x","n":3}""")), HttpStatusCode.BadRequest, "unsupported", "n"),
            ("huge body", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"{{new string('a', 8 << 20)}}"}"""), expectContinue: true), HttpStatusCode.RequestEntityTooLarge, "request_too_large", null),
            // A client that sends a length over the limit without asking first, and one without a length
            // (the limit is met while reading): the gateway drains what is on its way, so the 413 arrives.
            ("huge body sent without asking", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"{{new string('a', 3 << 20)}}"}""")), HttpStatusCode.RequestEntityTooLarge, "request_too_large", null),
            ("huge chunked body", () => PostAsync("/v1/completions", new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($$"""{"model":"{{m}}","prompt":"{{new string('a', 3 << 20)}}"}""")))), HttpStatusCode.RequestEntityTooLarge, "request_too_large", null),
            ("unknown model", () => PostAsync("/v1/completions", GatewayStack.Json("""{"model":"gpt-4o","prompt":"x"}""")), HttpStatusCode.NotFound, "model_not_found", "model"),
            ("no key", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"x"}"""), key: null), HttpStatusCode.Unauthorized, "missing_api_key", null),
            ("wrong key", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"x"}"""), key: "sk-not-a-key"), HttpStatusCode.Unauthorized, "invalid_api_key", null),
            ("key without this model", () => PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"x"}"""), key: GatewayStack.LimitedKey), HttpStatusCode.Forbidden, "model_not_permitted", "model"),
            ("unknown URL", () => PostAsync("/v1/embeddings", GatewayStack.Json("{}")), HttpStatusCode.NotFound, "unknown_url", null),
            ("bad deadline header", async () =>
            {
                using var http = Stack.Http();
                using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json($$"""{"model":"{{m}}","prompt":"x"}""") };
                req.Headers.Add("Folio-Deadline-Ms", "soon");
                using var r = await http.SendAsync(req);
                return (r.StatusCode, await ErrorOf(r));
            }, HttpStatusCode.BadRequest, "invalid_header", null),
        };
        foreach (var c in cases)
        {
            var (status, error) = await c.Send();
            Assert.True(c.Status == status, $"{c.Name}: expected {c.Status}, got {status} ({error})");
            Assert.True(c.Code == error.GetProperty("code").GetString(), $"{c.Name}: code {error.GetProperty("code")}");
            Assert.True(c.Param == (error.GetProperty("param").ValueKind == JsonValueKind.Null ? null : error.GetProperty("param").GetString()), $"{c.Name}: param {error.GetProperty("param")}");
            Assert.DoesNotContain("sk-not-a-key", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
        }

        // Still serving.
        using var ok = Stack.Http();
        using var reply = await ok.PostAsync("/v1/completions", GatewayStack.Json($$"""{"model":"{{m}}","prompt":"still there?","max_tokens":3}"""));
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        Assert.Equal(3, JsonDocument.Parse(await reply.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.DoesNotContain(Stack.Gateways[0].Lines, l => l.Contains(GatewayStack.Key, StringComparison.Ordinal) || l.Contains("still there", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_key_over_its_rate_limit_gets_429_with_retry_after()
    {
        using var http = Stack.Http(key: GatewayStack.SlowKey);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (int i = 0; i < 3; i++)
        {
            var r = await http.GetAsync("/v1/models");
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = r;
                break;
            }

            r.Dispose();
        }

        Assert.NotNull(limited);
        Assert.True(limited!.Headers.RetryAfter is not null);
        Assert.Equal("rate_limit_exceeded", (await ErrorOf(limited)).GetProperty("code").GetString());
        limited.Dispose();

        // Another key is not affected.
        using var other = Stack.Http();
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/v1/models")).StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_v1_endpoint_and_the_playground_is_served()
    {
        using var http = Stack.Http(key: null);
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/openapi.json"));
        var paths = doc.RootElement.GetProperty("paths");
        Assert.True(paths.GetProperty("/v1/chat/completions").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/completions").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/models").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/models/{model}").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/files").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/files/{file_id}/content").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/batches").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/batches/{batch_id}").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/batches/{batch_id}/cancel").TryGetProperty("post", out _));
        string page = await http.GetStringAsync("/");
        Assert.Contains("Folio playground", page, StringComparison.Ordinal);
        Assert.Equal("ready", await http.GetStringAsync("/readyz"));
    }
}
