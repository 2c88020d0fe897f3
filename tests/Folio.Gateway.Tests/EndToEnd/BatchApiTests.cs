using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Folio.Contracts;
using Folio.Gateway.Tests.Support;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>
/// The Batch API (/v1/files, /v1/batches) against real servers, a real gateway and a real worker,
/// driven by the npm `openai` package (tests/node/gateway-batch.mjs) and by raw HTTP.
/// </summary>
[Collection(SharedStackCollection.Name)]
public sealed class BatchApiTests(SharedStack shared)
{
    private GatewayStack Stack => shared.Stack;

    private static JsonElement[] Lines(string? jsonl) =>
        [.. (jsonl ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public async Task The_npm_openai_package_runs_a_200_line_batch_whose_results_equal_single_requests_and_a_second_create_runs_nothing()
    {
        var o = await NodeScript.RunAsync("gateway-batch.mjs", new Dictionary<string, string>
        {
            ["GATEWAY_URL"] = Stack.BaseUrl.ToString().TrimEnd('/'),
            ["GATEWAY_KEY"] = GatewayStack.Key,
            ["GATEWAY_OTHER_KEY"] = GatewayStack.LimitedKey,
            ["GATEWAY_MODEL"] = Stack.Model,
        });

        // The uploaded file: OpenAI's file object, and its bytes back unchanged.
        var file = o.GetProperty("file");
        Assert.Equal("file", file.GetProperty("object").GetString());
        Assert.Equal("batch", file.GetProperty("purpose").GetString());
        Assert.Equal("ledger.jsonl", file.GetProperty("filename").GetString());
        Assert.StartsWith("file-", file.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.True(file.GetProperty("bytes").GetInt64() > 200 * 100);
        Assert.Equal(file.GetProperty("id").GetString(), o.GetProperty("fileRetrieved").GetProperty("id").GetString());
        Assert.True(o.GetProperty("fileContentSame").GetBoolean());

        // The batch ran to completed, as OpenAI's batch object says it.
        var run = o.GetProperty("completions");
        var created = run.GetProperty("created");
        var batch = run.GetProperty("batch");
        string batchId = batch.GetProperty("id").GetString()!;
        Assert.Equal("batch", created.GetProperty("object").GetString());
        Assert.Equal("/v1/completions", created.GetProperty("endpoint").GetString());
        Assert.Equal(file.GetProperty("id").GetString(), created.GetProperty("input_file_id").GetString());
        Assert.Equal("24h", created.GetProperty("completion_window").GetString());
        Assert.Equal("folio", created.GetProperty("metadata").GetProperty("suite").GetString());
        Assert.Contains(created.GetProperty("status").GetString(), new[] { "in_progress", "completed" });
        Assert.Equal("completed", batch.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("errors").ValueKind);
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("error_file_id").ValueKind);
        Assert.True(batch.GetProperty("completed_at").GetInt64() >= batch.GetProperty("created_at").GetInt64());
        var counts = batch.GetProperty("request_counts");
        Assert.Equal((200, 200, 0), (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32()));

        // 200 output lines, one per custom_id, each the text the same request gets alone.
        var single = o.GetProperty("single");
        var output = Lines(run.GetProperty("output").GetString());
        Assert.Equal(200, output.Length);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"req-{i}").Order(), output.Select(l => l.GetProperty("custom_id").GetString()).Order());
        foreach (var line in output)
        {
            string customId = line.GetProperty("custom_id").GetString()!;
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
            var response = line.GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            var body = response.GetProperty("body");
            Assert.Equal("text_completion", body.GetProperty("object").GetString());
            Assert.Equal(Stack.Model, body.GetProperty("model").GetString());
            Assert.Equal(4, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal(single.GetProperty(customId).GetString(), body.GetProperty("choices")[0].GetProperty("text").GetString());
        }

        Assert.True(output.Select(l => l.GetProperty("response").GetProperty("body").GetProperty("choices")[0].GetProperty("text").GetString()).Distinct().Count() > 100, "different seeds and prompts give different texts");

        // The same file again is the same batch, already completed; its requests ran once.
        var second = o.GetProperty("second");
        Assert.Equal(batchId, second.GetProperty("id").GetString());
        Assert.Equal("completed", second.GetProperty("status").GetString());
        Assert.Contains(batchId, o.GetProperty("list").EnumerateArray().Select(b => b.GetString()));
        await AssertEachRanOnceAsync(batchId, 200);

        // Chat: chat.completion bodies, equal to the same chats sent alone.
        var chat = o.GetProperty("chat");
        Assert.Equal("completed", chat.GetProperty("batch").GetProperty("status").GetString());
        var chatOutput = Lines(chat.GetProperty("output").GetString());
        Assert.Equal(6, chatOutput.Length);
        foreach (var line in chatOutput)
        {
            var body = line.GetProperty("response").GetProperty("body");
            Assert.Equal("chat.completion", body.GetProperty("object").GetString());
            var message = body.GetProperty("choices")[0].GetProperty("message");
            Assert.Equal("assistant", message.GetProperty("role").GetString());
            Assert.Equal(o.GetProperty("chatSingle").GetProperty(line.GetProperty("custom_id").GetString()!).GetString(), message.GetProperty("content").GetString());
        }

        // Bad lines: reported in errors and the error file with their line numbers; the good lines ran.
        var mixed = o.GetProperty("mixed").GetProperty("batch");
        Assert.Equal("completed", mixed.GetProperty("status").GetString());
        var mixedCounts = mixed.GetProperty("request_counts");
        Assert.Equal((7, 2, 5), (mixedCounts.GetProperty("total").GetInt32(), mixedCounts.GetProperty("completed").GetInt32(), mixedCounts.GetProperty("failed").GetInt32()));
        var errors = mixed.GetProperty("errors").GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal([2, 3, 4, 5, 6], errors.Select(e => e.GetProperty("line").GetInt32()));
        Assert.Equal("invalid_url", errors[1].GetProperty("code").GetString());
        Assert.Contains("duplicates line 1", errors[3].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("temperature", errors[4].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(["good-1", "good-2"], Lines(o.GetProperty("mixed").GetProperty("output").GetString()).Select(l => l.GetProperty("custom_id").GetString()).Order());
        var errorLines = Lines(o.GetProperty("mixed").GetProperty("errors").GetString());
        Assert.Equal(5, errorLines.Length);
        Assert.All(errorLines, l => Assert.Equal(JsonValueKind.Null, l.GetProperty("response").ValueKind));
        Assert.Equal([null, "chat-in-completions", null, "good-1", "bad-temperature"], errorLines.Select(l => l.GetProperty("custom_id").ValueKind == JsonValueKind.Null ? null : l.GetProperty("custom_id").GetString()));

        // A file with no valid line: the batch fails at validation, nothing runs.
        var allBad = o.GetProperty("allBad").GetProperty("batch");
        Assert.Equal("failed", allBad.GetProperty("status").GetString());
        Assert.Equal(2, allBad.GetProperty("errors").GetProperty("data").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, allBad.GetProperty("output_file_id").ValueKind);
        Assert.True(allBad.GetProperty("failed_at").GetInt64() > 0);

        var e = o.GetProperty("errors");
        void Expect(string name, int status, string? param)
        {
            var x = e.GetProperty(name);
            var (s, p) = x.TryGetProperty("body", out var body)
                ? (x.GetProperty("status").GetInt32(), body.GetProperty("error").GetProperty("param").GetString())
                : (x.GetProperty("status").GetInt32(), x.GetProperty("param").GetString());
            Assert.True(status == s, $"{name}: {x}");
            Assert.Equal(param, p);
        }

        Expect("missingFile", 400, "file");
        Expect("missingPurpose", 400, "purpose");
        Expect("wrongPurpose", 400, "purpose");
        Expect("unknownFile", 404, "input_file_id");
        Expect("unknownEndpoint", 400, "endpoint");
        Expect("nonsenseEndpoint", 400, "endpoint");
        Expect("badWindow", 400, "completion_window");
        Expect("unknownBatch", 404, "batch_id");
        Expect("unknownFileContent", 404, "file_id");
        Expect("otherKeyFile", 404, "file_id");
    }

    [Fact]
    public async Task A_create_resumed_after_a_crash_or_the_same_bytes_uploaded_again_publish_nothing()
    {
        string m = Stack.Model;
        string jsonl = string.Join('\n', Enumerable.Range(0, 12).Select(i => $$$"""{"custom_id":"r{{{i}}}","method":"POST","url":"/v1/completions","body":{"model":"{{{m}}}","prompt":"Resume {{{i}}}","max_tokens":3,"seed":{{{i}}}}}"""));
        using var http = Stack.Http();
        string fileId = await UploadAsync(http, jsonl);
        string batchId = await CreateAsync(http, fileId);
        await WaitForStatusAsync(http, batchId, "completed");
        var lengths = await StreamLengthsAsync(batchId, 12);

        // A create that died after its record but before it was marked in progress is finished by the next create:
        // every request already has its stream, so none is published again.
        // (The record as it was then: created, not yet in progress nor ended.)
        await Stack.Redis.GetDatabase().HashDeleteAsync("{" + BatchKeys.Hash(Stack.StreamPrefix, batchId) + "}~openai", ["in_progress_at", "final_status", "final_at", "completed", "failed", "total", "output", "errors"]);
        Assert.Equal(batchId, await CreateAsync(http, fileId));
        await Stack.Gateways[0].WaitForLineAsync($"Batch {batchId} created (key tests): 0 requests published, 12 already submitted before");

        // The same bytes uploaded as another file name the same batch.
        Assert.Equal(batchId, await CreateAsync(http, await UploadAsync(http, jsonl)));
        await Task.Delay(500);
        Assert.Equal(lengths, await StreamLengthsAsync(batchId, 12));
        Assert.DoesNotContain(Stack.Workers[0].Lines, l => l.Contains(batchId, StringComparison.Ordinal) && l.Contains("already finished", StringComparison.Ordinal));
        await AssertEachRanOnceAsync(batchId, 12);
        Assert.Equal(12, (await WaitForStatusAsync(http, batchId, "completed")).GetProperty("request_counts").GetProperty("completed").GetInt32());
    }

    [Fact]
    public async Task Cancel_makes_a_batch_cancelling_then_cancelled_with_the_stopped_requests_in_its_error_file()
    {
        string m = Stack.Model;
        string jsonl = string.Join('\n', Enumerable.Range(0, 16).Select(i => $$$"""{"custom_id":"c{{{i}}}","method":"POST","url":"/v1/completions","body":{"model":"{{{m}}}","prompt":"Long story {{{i}}}","max_tokens":400,"ignore_eos":true,"seed":{{{i}}}}}"""));
        using var http = Stack.Http();
        string batchId = await CreateAsync(http, await UploadAsync(http, jsonl));
        using var r = await http.PostAsync($"/v1/batches/{batchId}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var cancelling = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        // The reply says cancelling, or already cancelled when every request ended before the reply was written.
        Assert.Contains(cancelling.RootElement.GetProperty("status").GetString(), new[] { "cancelling", "cancelled" });
        Assert.True(cancelling.RootElement.GetProperty("cancelling_at").GetInt64() > 0);

        var done = await WaitForStatusAsync(http, batchId, "cancelled");
        Assert.Equal(16, done.GetProperty("request_counts").GetProperty("total").GetInt32());
        string errorFile = done.GetProperty("error_file_id").GetString()!;
        var errorLines = Lines(await http.GetStringAsync($"/v1/files/{errorFile}/content"));
        Assert.True(errorLines.Length >= 12, $"most of 16 long requests were stopped; {errorLines.Length} were");
        Assert.All(errorLines, l => Assert.Equal("cancelled", l.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(16 - errorLines.Length, done.GetProperty("request_counts").GetProperty("completed").GetInt32());
    }

    [Fact]
    public async Task An_upload_over_MaxFileBytes_is_413_one_under_it_is_stored_whatever_MaxRequestBodyBytes_says_and_the_gateway_keeps_serving()
    {
        var env = new Dictionary<string, string>
        {
            ["Folio__Gateway__MaxFileBytes"] = (12 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Folio__Gateway__MaxRequestBodyBytes"] = "1024",
            ["Folio__Redis__BatchTtlSeconds"] = "120",
        };
        await using var stack = await GatewayStack.StartAsync(workers: 0, gateways: 1, tag: "files", gatewayEnvironment: env);
        using var http = stack.Http();
        using var big = await http.PostAsync("/v1/files", Form(new string('x', 13 << 20)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        using var error = JsonDocument.Parse(await big.Content.ReadAsStringAsync());
        Assert.Equal("request_too_large", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("Folio:Gateway:MaxFileBytes", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        // Over the completion bodies' limit and over Kestrel's server-wide one (that limit + 8 MiB): uploads have their own.
        string fileId = await UploadAsync(http, new string('y', 10 << 20));
        using var info = JsonDocument.Parse(await http.GetStringAsync($"/v1/files/{fileId}"));
        Assert.Equal(10 << 20, info.RootElement.GetProperty("bytes").GetInt32());
        Assert.Equal(10 << 20, (await http.GetByteArrayAsync($"/v1/files/{fileId}/content")).Length);
        Assert.True(await stack.Redis.GetDatabase().KeyTimeToLiveAsync(stack.StreamPrefix + "~file:" + fileId) <= TimeSpan.FromSeconds(120), "files are kept Folio:Redis:BatchTtlSeconds");
    }

    [Fact]
    public async Task A_batch_unfinished_24h_after_its_creation_expires_with_its_unrun_requests_in_the_error_file()
    {
        string m = Stack.Model;
        string jsonl = string.Join('\n', Enumerable.Range(0, 12).Select(i => $$$"""{"custom_id":"x{{{i}}}","method":"POST","url":"/v1/completions","body":{"model":"{{{m}}}","prompt":"Slow tale {{{i}}}","max_tokens":400,"ignore_eos":true,"seed":{{{i}}}}}"""));
        using var http = Stack.Http();
        string batchId = await CreateAsync(http, await UploadAsync(http, jsonl));

        // As if it had been created 25 hours ago (the window is OpenAI's 24 h).
        long dayAgo = DateTimeOffset.UtcNow.AddHours(-25).ToUnixTimeSeconds();
        await Stack.Redis.GetDatabase().HashSetAsync("{" + BatchKeys.Hash(Stack.StreamPrefix, batchId) + "}~openai", "created_at", dayAgo);
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"/v1/batches/{batchId}"));
        var batch = doc.RootElement;
        Assert.Equal("expired", batch.GetProperty("status").GetString());
        Assert.True(batch.GetProperty("expired_at").GetInt64() >= batch.GetProperty("expires_at").GetInt64());
        Assert.Equal(12, batch.GetProperty("request_counts").GetProperty("total").GetInt32());
        var errorLines = Lines(await http.GetStringAsync($"/v1/files/{batch.GetProperty("error_file_id").GetString()}/content"));

        // Every request is in the error file: those the worker had taken were cancelled by the
        // expiry (its prefetch is 4, and as cancelled ones leave it takes queued ones, which it ends
        // as cancelled too, so how many depends on timing: a run under load saw 5), the rest expired
        // without running.
        var codes = errorLines.Select(l => l.GetProperty("error").GetProperty("code").GetString()).ToList();
        Assert.True(codes.Count == 12 && codes.All(c => c is "batch_expired" or "cancelled") && codes.Contains("batch_expired"), string.Join('\n', errorLines));

        // Its unrun requests were cancelled: every stream ends soon, none runs its 400 tokens.
        foreach (int i in Enumerable.Range(0, 12))
        {
            var entries = await Stack.WaitForTerminalAsync(BatchKeys.RequestId(batchId, "x" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.True(entries.Count(e => (string?)e["type"] == "token") < 400);
        }
    }

    [Fact]
    public async Task The_list_pages_a_keys_batches_newest_first_and_another_key_sees_none_of_them()
    {
        using var http = Stack.Http();
        var ids = new List<string>();
        for (int b = 0; b < 3; b++)
        {
            string jsonl = $$$"""{"custom_id":"l{{{b}}}","method":"POST","url":"/v1/completions","body":{"model":"{{{Stack.Model}}}","prompt":"List {{{b}}} {{{Guid.NewGuid():N}}}","max_tokens":1}}""";
            ids.Add(await CreateAsync(http, await UploadAsync(http, jsonl)));
            await Task.Delay(5);
        }

        var seen = new List<string>();
        string? after = null;
        while (seen.Count < 3)
        {
            using var page = JsonDocument.Parse(await http.GetStringAsync("/v1/batches?limit=1" + (after is null ? string.Empty : "&after=" + after)));
            var data = page.RootElement.GetProperty("data");
            Assert.Equal("list", page.RootElement.GetProperty("object").GetString());
            Assert.Equal(1, data.GetArrayLength());
            Assert.True(seen.Count == 2 || page.RootElement.GetProperty("has_more").GetBoolean(), "more pages follow the first two");
            after = page.RootElement.GetProperty("last_id").GetString()!;
            seen.Add(after);
        }

        // The three just created, newest first, one per page.
        Assert.Equal(Enumerable.Reverse(ids), seen);
        using var other = Stack.Http(key: GatewayStack.LimitedKey);
        using var none = JsonDocument.Parse(await other.GetStringAsync("/v1/batches"));
        Assert.DoesNotContain(none.RootElement.GetProperty("data").EnumerateArray(), b => ids.Contains(b.GetProperty("id").GetString()!));
        using var r = await other.GetAsync($"/v1/batches/{ids[0]}");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
    }

    /// <summary>Every request of the batch has one stream with one start and one terminal entry: nothing ran twice.</summary>
    private async Task AssertEachRanOnceAsync(string batchId, int total)
    {
        var db = Stack.Redis.GetDatabase();
        var status = await db.HashGetAllAsync(BatchKeys.Hash(Stack.StreamPrefix, batchId));
        Assert.Equal(total.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)status.Single(h => h.Name == BatchKeys.Done).Value);
        var members = await db.HashGetAllAsync(BatchKeys.Requests(Stack.StreamPrefix, batchId));
        Assert.Equal(total, members.Length);
        foreach (var member in members)
        {
            var entries = await Stack.ReadStreamAsync(BatchKeys.RequestId(batchId, member.Name!));
            Assert.Single(entries, x => (string?)x["type"] == "start");
            Assert.Single(entries, x => (string?)x["type"] is "done" or "error");
        }
    }

    /// <summary>The stream lengths of custom_ids r0..r{n-1}.</summary>
    private async Task<long[]> StreamLengthsAsync(string batchId, int n)
    {
        var db = Stack.Redis.GetDatabase();
        var lengths = new long[n];
        for (int i = 0; i < n; i++)
        {
            lengths[i] = await db.StreamLengthAsync(Stack.StreamPrefix + BatchKeys.RequestId(batchId, "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return lengths;
    }

    private static MultipartFormDataContent Form(string jsonl, string purpose = "batch")
    {
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(jsonl));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        return new MultipartFormDataContent { { file, "file", "input.jsonl" }, { new StringContent(purpose), "purpose" } };
    }

    private static async Task<string> UploadAsync(HttpClient http, string jsonl)
    {
        using var r = await http.PostAsync("/v1/files", Form(jsonl));
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string> CreateAsync(HttpClient http, string fileId)
    {
        using var r = await http.PostAsync("/v1/batches", GatewayStack.Json($$"""{"input_file_id":"{{fileId}}","endpoint":"/v1/completions","completion_window":"24h"}"""));
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement> WaitForStatusAsync(HttpClient http, string batchId, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var batch = JsonDocument.Parse(await http.GetStringAsync($"/v1/batches/{batchId}")).RootElement.Clone();
            string now = batch.GetProperty("status").GetString()!;
            if (now == status)
            {
                return batch;
            }

            Assert.True(DateTime.UtcNow < deadline && now is "validating" or "in_progress" or "cancelling", $"batch {batchId} is {now}, waiting for {status}: {batch}");
            await Task.Delay(100);
        }
    }
}
