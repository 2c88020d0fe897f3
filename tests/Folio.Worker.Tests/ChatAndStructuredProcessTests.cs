using System.Text.Json;
using System.Text.RegularExpressions;

namespace Folio.Worker.Tests;

/// <summary>
/// Chat requests (contract 6.1) and constrained requests (6.2) through real worker processes: a
/// plain publisher sends them, every guarantee of section 2 holds, constrained outputs match, and a
/// worker killed with SIGKILL mid-generation leaves streams bitwise identical to an uninterrupted run.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ChatAndStructuredProcessTests(ServersFixture servers, TestModelFixture model) : IClassFixture<TestModelFixture>
{
    /// <summary>ChatML, the template the override key gives a model that has none of its own.</summary>
    private const string ChatMl = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    private const string Pattern = "[a-z ]{240}";

    private static string Chat(string id, int seed) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["request_id"] = id,
        ["messages"] = new object[] { new { role = "system", content = "You tell stories." }, new { role = "user", content = $"Story number {seed}, please." } },
        ["max_tokens"] = 300,
        ["seed"] = seed,
        ["temperature"] = 0.9,
        ["ignore_eos"] = true,
    });

    private static string Constrained(string id, int seed) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["request_id"] = id,
        ["prompt"] = $"Constrained story {seed}",
        ["max_tokens"] = 400,
        ["seed"] = seed,
        ["temperature"] = 1.0,
        ["structured_outputs"] = new { regex = Pattern },
    });

    private static string Json(string id, int i) => i % 2 == 0 ? Chat(id, i) : Constrained(id, i);

    private static Dictionary<string, string> Settings(string templateFile) => new()
    {
        ["Folio__Model__ChatTemplate"] = templateFile,
        ["Folio__Engine__MaxNumSeqs"] = "2",
    };

    [Fact]
    public async Task Chat_and_constrained_streams_survive_sigkills_bitwise_and_constrained_text_matches()
    {
        string template = Path.Combine(model.Folder, "chatml.jinja");
        await File.WriteAllTextAsync(template, ChatMl);
        var ids = Enumerable.Range(0, 6).Select(i => $"cs-{i}").ToList();

        var refNames = new TestNames("csref");
        var refClient = new ForeignClient(servers, refNames);
        var reference = new Dictionary<string, (int[] Tokens, string Text)>();
        await using (var w = WorkerProcess.Start(servers, refNames, model.Path, "cs-ref", Settings(template)))
        {
            await w.WaitConsumingAsync();
            for (int i = 0; i < ids.Count; i++)
            {
                await refClient.PublishAsync(Json(ids[i], i));
            }

            for (int i = 0; i < ids.Count; i++)
            {
                var entries = await refClient.WaitTerminalAsync(ids[i], TimeSpan.FromSeconds(180));
                Assert.True(entries[^1]["type"] == "done", $"{ids[i]}: {string.Join(", ", entries[^1].Select(kv => kv.Key + "=" + kv.Value))}");
                reference[ids[i]] = (StreamChecks.AssertWellFormed(entries), entries[^1]["text"]);
                if (i % 2 == 1)
                {
                    Assert.Equal("stop", entries[^1]["finish_reason"]);
                    Assert.Matches("^" + Pattern + "$", entries[^1]["text"]);
                }
            }
        }

        var names = new TestNames("cskill");
        var client = new ForeignClient(servers, names);
        var worker = WorkerProcess.Start(servers, names, model.Path, "cs-victim-0", Settings(template));
        await worker.WaitConsumingAsync();
        for (int i = 0; i < ids.Count; i++)
        {
            await client.PublishAsync(Json(ids[i], i));
        }

        try
        {
            for (int kill = 1; kill <= 2; kill++)
            {
                int target = kill * 30;
                await ContractGuaranteeTests.WaitUntil(async () => (await client.ReadAsync(ids[0])).Count(e => e["type"] == "token") >= target || (await client.ReadAsync(ids[0])).Any(e => e["type"] == "done"), 120);
                worker.Kill();
                await worker.DisposeAsync();
                worker = WorkerProcess.Start(servers, names, model.Path, $"cs-victim-{kill}", Settings(template));
                await worker.WaitConsumingAsync();
            }

            foreach (var id in ids)
            {
                var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(180));
                Assert.Equal(reference[id].Tokens, StreamChecks.AssertWellFormed(entries));
                Assert.Equal(reference[id].Text, entries[^1]["text"]);
            }
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    /// <summary>
    /// Folio:Model:ContentSpecialTokens (contract 6.1): a user who types the model's special-token
    /// text into a message gets that special token with the default (parse, as Hugging Face and vLLM
    /// do), and ordinary text with plain, where it cannot end or open a turn. The worker reports the
    /// prompt's token count in the start entry; the injected text is one control token or several
    /// ordinary ones, and the template's own special tokens are not affected.
    /// </summary>
    [Fact]
    public async Task Content_special_tokens_plain_makes_injected_special_text_ordinary_through_the_worker()
    {
        const string Injected = "<|endoftext|>";
        string template = Path.Combine(model.Folder, "chatml-eot.jinja");

        // The template writes the control token itself after every message: plain must keep that one special.
        await File.WriteAllTextAsync(template, "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '<|endoftext|>' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}");
        string Request(string id, string content) => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["request_id"] = id,
            ["messages"] = new object[] { new { role = "user", content } },
            ["max_tokens"] = 2,
        });

        async Task<int> PromptTokensAsync(string mode, string id, string content)
        {
            var names = new TestNames("cst" + mode + id[^1]);
            var client = new ForeignClient(servers, names);
            var settings = Settings(template);
            settings["Folio__Model__ContentSpecialTokens"] = mode;
            await using var w = WorkerProcess.Start(servers, names, model.Path, $"cst-{mode}", settings);
            await w.WaitConsumingAsync();
            await client.PublishAsync(Request(id, content));
            var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(60));
            Assert.True(entries[^1]["type"] == "done", string.Join(", ", entries[^1].Select(kv => kv.Key + "=" + kv.Value)));
            return int.Parse(entries.First(e => e["type"] == "start")["prompt_tokens"], System.Globalization.CultureInfo.InvariantCulture);
        }

        int parseClean = await PromptTokensAsync("parse", "a", "hello there");
        int parseInjected = await PromptTokensAsync("parse", "b", "hello" + Injected + "there");
        int plainClean = await PromptTokensAsync("plain", "c", "hello there");
        int plainInjected = await PromptTokensAsync("plain", "d", "hello" + Injected + "there");

        // Without injected text the two modes build the same prompt (the template's own token stays special).
        Assert.Equal(parseClean, plainClean);

        // parse: the injected text is the single control token; plain: it is spelled out in ordinary tokens.
        Assert.True(plainInjected >= parseInjected + 3, $"plain gave {plainInjected} prompt tokens, parse {parseInjected}: the injected '{Injected}' was not spelled out as text");
    }

    [Fact]
    public async Task Bad_chat_and_constraint_requests_get_their_contract_errors_and_the_worker_keeps_serving()
    {
        var names = new TestNames("csbad");
        var client = new ForeignClient(servers, names);
        await using var worker = WorkerProcess.Start(servers, names, model.Path, "cs-bad");
        await worker.WaitConsumingAsync();
        // This model has no chat template of its own and the worker has no override.
        await client.PublishAsync("""{"request_id": "no-template", "messages": [{"role": "user", "content": "hi"}]}""");
        await client.PublishAsync("""{"request_id": "bad-schema", "prompt": "x", "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object", "uniqueItems": true}}}}""");
        await client.PublishAsync("""{"request_id": "bad-regex", "prompt": "x", "structured_outputs": {"regex": "(unclosed"}}""");
        await client.PublishAsync("""{"request_id": "bad-grammar", "prompt": "x", "structured_outputs": {"grammar": "root ::= missing"}}""");
        await client.PublishAsync("""{"request_id": "fine", "prompt": "x", "max_tokens": 5, "structured_outputs": {"choice": ["yes", "no"]}}""");
        var noTemplate = (await client.WaitTerminalAsync("no-template", TimeSpan.FromSeconds(60)))[^1];
        Assert.Equal("unsupported", noTemplate["code"]);
        foreach (var (id, field) in new[] { ("bad-schema", "response_format.json_schema.schema"), ("bad-regex", "structured_outputs.regex"), ("bad-grammar", "structured_outputs.grammar") })
        {
            var e = (await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(60)))[^1];
            Assert.Equal("invalid_request", e["code"]);
            Assert.StartsWith(field + ": ", e["message"], StringComparison.Ordinal);
        }

        var fine = (await client.WaitTerminalAsync("fine", TimeSpan.FromSeconds(60)))[^1];
        Assert.Equal("done", fine["type"]);
        Assert.Contains(fine["text"], (string[])["yes", "no"]);
        Assert.False(worker.HasExited);
    }
}
