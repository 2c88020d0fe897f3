using System.Text.Json;
using Folio.Gateway.Tests.Support;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>
/// Clients from npm, no one here wrote: the `openai` package (tests/node/gateway-openai.mjs) and the
/// playground page in Debian's headless Chromium driven by playwright-core (tests/node/playground.mjs).
/// </summary>
[Collection(SharedStackCollection.Name)]
public sealed class NodeClientTests(SharedStack shared)
{
    private GatewayStack Stack => shared.Stack;

    private Dictionary<string, string> Env() => new()
    {
        ["GATEWAY_URL"] = Stack.BaseUrl.ToString().TrimEnd('/'),
        ["GATEWAY_KEY"] = GatewayStack.Key,
        ["GATEWAY_MODEL"] = Stack.Model,
    };

    [Fact]
    public async Task The_npm_openai_package_streams_completes_stops_reproduces_and_sees_errors()
    {
        var o = await NodeScript.RunAsync("gateway-openai.mjs", Env());
        var whole = o.GetProperty("whole");
        string text = whole.GetProperty("text").GetString()!;
        Assert.Equal("text_completion", whole.GetProperty("object").GetString());
        Assert.Equal("length", whole.GetProperty("finish").GetString());
        Assert.Equal(10, whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(text, o.GetProperty("again").GetString());
        Assert.NotEqual(text, o.GetProperty("otherSeed").GetString());

        var streamed = o.GetProperty("streamed");
        Assert.Equal(text, streamed.GetProperty("text").GetString());
        Assert.Equal("length", streamed.GetProperty("finish").GetString());
        Assert.Equal(10, streamed.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(streamed.GetProperty("chunks").GetInt32() >= 3);

        var stop = o.GetProperty("stop");
        string full = stop.GetProperty("full").GetString()!;
        string s = stop.GetProperty("stop").GetString()!;
        Assert.Equal(full[..full.IndexOf(s, StringComparison.Ordinal)], stop.GetProperty("text").GetString());
        Assert.Equal("stop", stop.GetProperty("finish").GetString());

        var lp = o.GetProperty("logprobs");
        Assert.Equal(5, lp.GetProperty("tokens").GetArrayLength());
        Assert.Equal(o.GetProperty("logprobsText").GetString(), string.Concat(lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString())));
        Assert.All(lp.GetProperty("top_logprobs").EnumerateArray(), t => Assert.InRange(t.EnumerateObject().Count(), 1, 2));

        var errors = o.GetProperty("errors");
        Assert.Equal(401, errors.GetProperty("wrongKey").GetProperty("status").GetInt32());
        Assert.Equal("AuthenticationError", errors.GetProperty("wrongKey").GetProperty("name").GetString());
        Assert.Equal(404, errors.GetProperty("unknownModel").GetProperty("status").GetInt32());
        Assert.Equal("model_not_found", errors.GetProperty("unknownModel").GetProperty("code").GetString());
        Assert.Equal(400, errors.GetProperty("badValue").GetProperty("status").GetInt32());
        Assert.Equal("temperature", errors.GetProperty("badValue").GetProperty("param").GetString());
        Assert.Equal(400, errors.GetProperty("manyChoices").GetProperty("status").GetInt32());
        Assert.Equal("n", errors.GetProperty("manyChoices").GetProperty("param").GetString());

        Assert.Contains(Stack.Model, o.GetProperty("models").EnumerateArray().Select(m => m.GetString()));

        var chat = o.GetProperty("chat");
        Assert.True(chat.GetProperty("served").GetBoolean(), chat.ToString());
        Assert.Equal(chat.GetProperty("text").GetString(), chat.GetProperty("streamed").GetString());
        Assert.True(chat.GetProperty("usage").GetProperty("completion_tokens").GetInt32() is > 0 and <= 8);
    }

    [Fact]
    public async Task The_playground_streams_a_reply_into_the_page_in_headless_chromium()
    {
        if (!File.Exists("/usr/bin/chromium"))
        {
            throw new InvalidOperationException("Debian's chromium is not installed (/usr/bin/chromium): test.sh installs it (apt-get install chromium)");
        }

        string screenshot = Path.Combine(AppContext.BaseDirectory, "playground.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        const string Prompt = "The harbour at night";
        var env = Env();
        env["PLAYGROUND_URL"] = Stack.BaseUrl.ToString();
        env["PLAYGROUND_MODE"] = "chat";
        env["PLAYGROUND_PROMPT"] = Prompt;
        env["PLAYGROUND_SEED"] = "11";
        env["SCREENSHOT"] = screenshot;
        var o = await NodeScript.RunAsync("playground.mjs", env);
        Assert.False(o.GetProperty("error").GetBoolean(), o.GetProperty("reply").GetString());
        Assert.Equal(Stack.Model, o.GetProperty("model").GetString());

        // The page's text is the gateway's answer to the same chat (same seed): the stream arrived whole.
        using var http = Stack.Http();
        using var r = await http.PostAsync("/v1/chat/completions", GatewayStack.Json($$"""{"model":"{{Stack.Model}}","messages":[{"role":"user","content":"{{Prompt}}"}],"max_tokens":24,"temperature":0.8,"seed":11}"""));
        string expected = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(expected, o.GetProperty("reply").GetString());
        Assert.Contains("first token", o.GetProperty("stats").GetString()!, StringComparison.Ordinal);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot was written");
    }
}
