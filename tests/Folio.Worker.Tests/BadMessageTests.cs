using System.Text;

namespace Folio.Worker.Tests;

/// <summary>At least 20 kinds of bad message interleaved with good ones: each is answered or dead-lettered, the good ones all finish.</summary>
[Collection(ServersCollection.Name)]
public sealed class BadMessageTests(ServersFixture servers)
{
    /// <summary>Messages with no usable request_id: they must land in the error queue with a reason header.</summary>
    private static readonly (string Kind, byte[] Body)[] Unanswerable =
    [
        ("not json", "hello, worker"u8.ToArray()),
        ("empty body", []),
        ("json array", "[1,2,3]"u8.ToArray()),
        ("json string", "\"just a string\""u8.ToArray()),
        ("truncated json", "{\"request_id\":\"trunc\",\"prompt\":"u8.ToArray()),
        ("missing request_id", "{\"prompt\":\"hi\"}"u8.ToArray()),
        ("numeric request_id", "{\"request_id\":42,\"prompt\":\"hi\"}"u8.ToArray()),
        ("request_id with space", "{\"request_id\":\"a b\",\"prompt\":\"hi\"}"u8.ToArray()),
        ("request_id with slash", "{\"request_id\":\"a/b\",\"prompt\":\"hi\"}"u8.ToArray()),
        ("request_id too long", Encoding.UTF8.GetBytes("{\"request_id\":\"" + new string('x', 129) + "\",\"prompt\":\"hi\"}")),
        ("invalid utf-8 in request_id", [.. "{\"request_id\":\"ab"u8, 0xFF, .. "\",\"prompt\":\"hi\"}"u8]),
    ];

    /// <summary>Messages with a usable request_id: each gets an error entry with this code.</summary>
    private static readonly (string Id, string Json, string Code)[] Answerable =
    [
        ("bad-messages", """{"request_id":"bad-messages","messages":[{"role":"user","content":"hi"}]}""", "unsupported"),
        ("bad-top-p", """{"request_id":"bad-top-p","prompt":"hi","top_p":1.5}""", "invalid_request"),
        ("bad-max-tokens-type", """{"request_id":"bad-max-tokens-type","prompt":"hi","max_tokens":"16"}""", "invalid_request"),
        ("bad-temperature", """{"request_id":"bad-temperature","prompt":"hi","temperature":-1}""", "invalid_request"),
        ("bad-empty-prompt", """{"request_id":"bad-empty-prompt","prompt":""}""", "invalid_request"),
        ("bad-both", """{"request_id":"bad-both","prompt":"hi","prompt_token_ids":[1]}""", "invalid_request"),
        ("bad-neither", """{"request_id":"bad-neither","max_tokens":3}""", "invalid_request"),
        ("bad-token-id", """{"request_id":"bad-token-id","prompt_token_ids":[1,2,1000]}""", "invalid_request"),
        ("bad-huge-prompt", "{\"request_id\":\"bad-huge-prompt\",\"prompt\":\"" + new string('p', 450) + "\"}", "prompt_too_long"),
        ("bad-context", "{\"request_id\":\"bad-context\",\"prompt\":\"" + new string('p', 250) + "\",\"max_tokens\":60}", "prompt_too_long"),
        ("bad-cap", """{"request_id":"bad-cap","prompt":"hi","max_tokens":101}""", "invalid_request"),
        ("bad-stop-count", "{\"request_id\":\"bad-stop-count\",\"prompt\":\"hi\",\"stop\":[" + string.Join(',', Enumerable.Range(0, 17).Select(i => $"\"s{i}\"")) + "]}", "invalid_request"),
        ("bad-logprobs", """{"request_id":"bad-logprobs","prompt":"hi","logprobs":21}""", "invalid_request"),
        ("bad-seed", """{"request_id":"bad-seed","prompt":"hi","seed":1e30}""", "invalid_request"),
        ("bad-stop-token", """{"request_id":"bad-stop-token","prompt":"hi","stop_token_ids":[5000]}""", "invalid_request"),
        ("bad-too-big", "{\"request_id\":\"bad-too-big\",\"prompt\":\"" + new string('z', 70_000) + "\"}", "invalid_request"),
        ("bad-utf8-prompt", "(bytes)", "invalid_request"),
        ("bad-ignore-eos", """{"request_id":"bad-ignore-eos","prompt":"hi","ignore_eos":"yes"}""", "invalid_request"),
    ];

    [Fact]
    public async Task Bad_messages_are_answered_or_dead_lettered_and_good_ones_all_finish()
    {
        Assert.True(Unanswerable.Length + Answerable.Length >= 20);
        var names = new TestNames();
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names, maxTokensCap: 100, contextTokens: 300);
        var good = new List<string>();
        int n = Math.Max(Unanswerable.Length, Answerable.Length);
        for (int i = 0; i < n; i++)
        {
            if (i < Unanswerable.Length)
            {
                await client.PublishBytesAsync(Unanswerable[i].Body);
            }

            if (i < Answerable.Length)
            {
                var a = Answerable[i];
                if (a.Json == "(bytes)")
                {
                    await client.PublishBytesAsync([.. "{\"request_id\":\"bad-utf8-prompt\",\"prompt\":\"x"u8, 0xC3, 0x28, .. "\"}"u8]);
                }
                else
                {
                    await client.PublishAsync(a.Json);
                }
            }

            string id = $"good-{i}";
            good.Add(id);
            await client.PublishAsync($$"""{"request_id":"{{id}}","prompt":"good {{i}}","max_tokens":4,"ignore_eos":true}""");
        }

        foreach (var id in good)
        {
            var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(20));
            StreamChecks.AssertWellFormed(entries);
            Assert.Equal("4", entries[^1]["completion_tokens"]);
        }

        foreach (var (id, _, code) in Answerable)
        {
            var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(20));
            Assert.True(entries[^1]["type"] == "error", id + " was not rejected");
            StreamChecks.AssertWellFormed(entries, expectTerminal: "error");
            Assert.Single(entries); // no start: it was never taken
            Assert.True(code == entries[0]["code"], $"{id}: expected {code}, got {entries[0]["code"]}: {entries[0]["message"]}");
            Assert.False(string.IsNullOrWhiteSpace(entries[0]["message"]));
        }

        await ContractGuaranteeTests.WaitUntil(async () => await client.MessageCountAsync(names.ErrorQueue) == (uint)Unanswerable.Length);
        var dead = await client.DrainQueueAsync(names.ErrorQueue);
        Assert.Equal(Unanswerable.Length, dead.Count);
        foreach (var (kind, body) in Unanswerable)
        {
            var match = dead.FirstOrDefault(d => d.Body.ToArray().AsSpan().SequenceEqual(body));
            Assert.True(match is not null, "not in the error queue: " + kind);
            var reason = match!.BasicProperties.Headers!["folio-error-reason"] as byte[];
            Assert.False(string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(reason!)), kind);
        }

        Assert.False(worker.Runtime.IsDraining);
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }
}
