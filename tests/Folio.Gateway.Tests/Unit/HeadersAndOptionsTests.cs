using Folio.Gateway.Auth;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Folio.Gateway.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Folio.Gateway.Tests.Unit;

public sealed class HeadersAndOptionsTests
{
    private static readonly Caller Alice = new("alice", new HashSet<string>(), 0);
    private static readonly Caller Bob = new("bob", new HashSet<string>(), 0);

    [Fact]
    public void Deadline_headers_set_an_absolute_deadline_and_bad_values_are_refused()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_000_000);
        Assert.Equal(1_002_500, RequestHeaders.Deadline(new HeaderDictionary { ["Folio-Deadline-Ms"] = "2500" }, now));
        Assert.Equal(1_001_500, RequestHeaders.Deadline(new HeaderDictionary { ["timeout"] = "1.5" }, now));
        Assert.Null(RequestHeaders.Deadline(new HeaderDictionary(), now));
        foreach (var bad in new[] { "0", "-5", "soon", "1e3" })
        {
            var e = Assert.Throws<OpenAiException>(() => RequestHeaders.Deadline(new HeaderDictionary { ["Folio-Deadline-Ms"] = bad }, now));
            Assert.Equal("invalid_header", e.Code);
        }
    }

    [Fact]
    public void A_client_chosen_request_id_is_scoped_to_its_key_so_another_key_cannot_read_that_stream()
    {
        var headers = new HeaderDictionary { ["Folio-Request-Id"] = "my-run-1" };
        var (a, chosen) = RequestHeaders.RequestIdFor(headers, CompletionKind.Chat, Alice);
        var (b, _) = RequestHeaders.RequestIdFor(headers, CompletionKind.Chat, Bob);
        Assert.True(chosen);
        Assert.NotEqual(a, b);
        Assert.Equal(a, RequestHeaders.RequestIdFor(headers, CompletionKind.Chat, Alice).RequestId);
        Assert.EndsWith("-my-run-1", a, StringComparison.Ordinal);
        Assert.True(Folio.Contracts.RequestIdRules.IsValid(a));
        Assert.Throws<OpenAiException>(() => RequestHeaders.RequestIdFor(new HeaderDictionary { ["Folio-Request-Id"] = "bad id!" }, CompletionKind.Chat, Alice));
        var (fresh1, f1) = RequestHeaders.RequestIdFor(new HeaderDictionary(), CompletionKind.Text, Alice);
        var (fresh2, _) = RequestHeaders.RequestIdFor(new HeaderDictionary(), CompletionKind.Text, Alice);
        Assert.False(f1);
        Assert.NotEqual(fresh1, fresh2);
        Assert.StartsWith("cmpl-", fresh1, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_are_matched_by_their_hash_and_a_missing_or_wrong_key_is_a_401()
    {
        var options = new GatewayOptions { ApiKeys = [new ApiKeyOptions { Name = "team", Sha256 = ApiKeyHash.Of("secret-1") }] };
        var auth = new ApiKeyAuthenticator(Microsoft.Extensions.Options.Options.Create(options));
        Assert.Equal("team", auth.Authenticate(Request("Bearer secret-1")).Name);
        Assert.Equal("missing_api_key", Assert.Throws<OpenAiException>(() => auth.Authenticate(Request(null))).Code);
        var wrong = Assert.Throws<OpenAiException>(() => auth.Authenticate(Request("Bearer secret-2")));
        Assert.Equal(401, wrong.Status);
        Assert.DoesNotContain("secret", wrong.Message, StringComparison.Ordinal);
        Assert.Equal(401, Assert.Throws<OpenAiException>(() => auth.Authenticate(Request("Basic abc"))).Status);
    }

    private static HttpRequest Request(string? authorization)
    {
        var context = new DefaultHttpContext();
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        return context.Request;
    }

    [Fact]
    public void Invalid_options_fail_naming_each_key()
    {
        var o = new GatewayOptions
        {
            Urls = "ftp://x",
            ApiKeys = [new ApiKeyOptions { Name = "bad name", Sha256 = "abc" }],
            MaxRequestBodyBytes = 10,
            RateLimit = new RateLimitOptions { RequestsPerMinute = -1 },
        };
        var result = new GatewayOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        string all = string.Join('\n', result.Failures!);
        foreach (var key in new[] { "Folio:Gateway:Urls", "Folio:Gateway:ApiKeys:0:Name", "Folio:Gateway:ApiKeys:0:Sha256", "Folio:Gateway:MaxRequestBodyBytes", "Folio:Gateway:RateLimit:RequestsPerMinute" })
        {
            Assert.Contains(key, all, StringComparison.Ordinal);
        }

        var none = new GatewayOptionsValidator().Validate(null, new GatewayOptions());
        Assert.Contains("Folio:Gateway:ApiKeys", string.Join('\n', none.Failures!), StringComparison.Ordinal);
        Assert.True(new GatewayOptionsValidator().Validate(null, new GatewayOptions { AllowAnonymous = true }).Succeeded);
        var queue = new GatewayQueueOptionsValidator().Validate(null, new GatewayQueueOptions { RabbitMqUri = "http://x", RedisConfiguration = "" });
        Assert.Contains("Folio:RabbitMq:Uri", string.Join('\n', queue.Failures!), StringComparison.Ordinal);
        Assert.Contains("Folio:Redis:Configuration", string.Join('\n', queue.Failures!), StringComparison.Ordinal);
    }
}
