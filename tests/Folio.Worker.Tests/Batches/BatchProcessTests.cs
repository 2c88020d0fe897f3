using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Client;
using Folio.Client.Batches;
using Folio.Contracts;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Folio.Worker.Tests.Batches;

/// <summary>
/// Batches with durable results (docs/contract.md, "Batches") through real worker processes, RabbitMQ
/// and Redis: a 1,000-line OpenAI batch file survives a worker's SIGKILL and collects exactly one
/// line per custom_id with the texts of an uninterrupted in-process run; the batch hash counts every
/// request once, also under resubmission and redelivery; its streams outlive the stream TTL; bad
/// lines are reported by number while the others run.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class BatchProcessTests(ServersFixture servers, TestModelFixture model, ITestOutputHelper output) : IClassFixture<TestModelFixture>
{
    private const int Lines = 1000;
    private const int WrongModelLines = 5;
    private const int MaxTokens = 8;
    private const int StreamTtlSeconds = 2;

    private static Dictionary<string, string> Settings => new()
    {
        ["Folio__Engine__MaxNumSeqs"] = "16",
        ["Folio__Redis__StreamTtlSeconds"] = StreamTtlSeconds.ToString(CultureInfo.InvariantCulture),
    };

    private FolioClientOptions Options(TestNames names) => new()
    {
        RabbitMqUri = servers.RabbitUri,
        RedisConfiguration = servers.RedisConfiguration,
        RequestQueue = names.RequestQueue,
        CancelExchange = names.CancelExchange,
        StreamPrefix = names.StreamPrefix,
    };

    /// <summary>1,000 completions lines: greedy and seeded sampling alternate; the last few name a model no worker serves.</summary>
    private static byte[] ThousandLineFile()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Lines; i++)
        {
            var body = new JsonObject { ["prompt"] = $"Batch line {i} says", ["max_tokens"] = MaxTokens, ["ignore_eos"] = true };
            if (i % 2 == 0)
            {
                body["temperature"] = 0;
            }
            else
            {
                body["temperature"] = 0.8;
                body["seed"] = i;
            }

            if (i >= Lines - WrongModelLines)
            {
                body["model"] = "a-model-nobody-serves";
            }

            sb.Append(new JsonObject { ["custom_id"] = $"q-{i:D4}", ["method"] = "POST", ["url"] = "/v1/completions", ["body"] = body }.ToJsonString()).Append('\n');
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    [Fact]
    public async Task A_thousand_line_batch_survives_a_sigkill_and_collects_one_line_per_custom_id_with_the_uninterrupted_texts()
    {
        var file = BatchFileReader.Read(ThousandLineFile(), "nightly-1");
        Assert.Empty(file.Errors);
        Assert.Equal(Lines, file.Lines.Count);
        var requests = file.Lines.ToDictionary(l => l.RequestId, l => RequestParser.Parse(l.RequestJson).Request!, StringComparer.Ordinal);
        var reference = await InProcessReference.RunAsync(model.Path, requests.Values);

        var names = new TestNames("batch");
        var foreign = new ForeignClient(servers, names);
        var first = WorkerProcess.Start(servers, names, model.Path, "batch-a", Settings);
        var second = WorkerProcess.Start(servers, names, model.Path, "batch-b", Settings);
        WorkerProcess? restarted = null;
        try
        {
            await using var batches = await FolioBatchClient.ConnectAsync(Options(names));
            await first.WaitConsumingAsync();
            await second.WaitConsumingAsync();
            var submitted = await batches.SubmitAsync(file);
            Assert.Equal(new BatchSubmitResult(Lines, 0), submitted);

            // SIGKILL one worker mid-batch, while it holds requests; a restarted worker and the other one finish.
            await ContractGuaranteeTests.WaitUntil(async () => (await batches.StatusAsync("nightly-1")) is { } s && s.Done + s.Failed >= Lines / 4, 180);
            first.Kill();
            var atKill = await batches.StatusAsync("nightly-1");
            output.WriteLine($"killed batch-a at {atKill.Done} done, {atKill.Failed} failed");
            Assert.True(atKill.Done + atKill.Failed < Lines - 100, "the batch was nearly finished before the kill; make it longer");
            restarted = WorkerProcess.Start(servers, names, model.Path, "batch-c", Settings);
            await restarted.WaitConsumingAsync();

            var collected = await CollectOrExplainAsync(batches, foreign, "nightly-1", TimeSpan.FromMinutes(5), second, restarted);
            Assert.Empty(collected.Unfinished);
            Assert.Equal(Lines, collected.Lines.Count);
            var byCustomId = collected.Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToDictionary(o => o["custom_id"]!.GetValue<string>(), StringComparer.Ordinal);
            Assert.Equal(file.Lines.Select(l => l.CustomId).Order(StringComparer.Ordinal), byCustomId.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(file.Lines.Select(l => l.CustomId), collected.Lines.Select(l => JsonNode.Parse(l)!["custom_id"]!.GetValue<string>()));
            foreach (var line in file.Lines)
            {
                var o = byCustomId[line.CustomId];
                if (line.Model is not null)
                {
                    Assert.Null(o["response"]);
                    Assert.Equal(ErrorCodes.ModelNotFound, o["error"]!["code"]!.GetValue<string>());
                    Assert.Equal("error:" + ErrorCodes.ModelNotFound, reference[line.RequestId]);
                    continue;
                }

                var body = o["response"]!["body"]!;
                Assert.Equal("text_completion", body["object"]!.GetValue<string>());
                Assert.Equal(reference[line.RequestId], body["choices"]![0]!["text"]!.GetValue<string>());
                Assert.Equal("length", body["choices"]![0]!["finish_reason"]!.GetValue<string>());
                Assert.Equal(MaxTokens, body["usage"]!["completion_tokens"]!.GetValue<int>());
            }

            // The batch hash: every request counted once, whatever the kill did.
            var db = servers.Redis.GetDatabase();
            var status = await SettledStatusAsync(batches, "nightly-1");
            Assert.Equal((Lines, Lines - WrongModelLines, WrongModelLines), (status.Total, status.Done, status.Failed));
            Assert.Equal(Lines, await db.HashLengthAsync(BatchKeys.Counted(names.StreamPrefix, "nightly-1")));

            // The kill hit requests in flight: some streams were started twice and still match the reference.
            var starts = await StartCountsAsync(foreign, file.Lines);
            int resumed = starts.Values.Count(s => s > 1);
            output.WriteLine($"{resumed} requests were started again after the kill");
            Assert.True(resumed > 0, "no request was in flight at the kill");

            // Submitting the file again publishes nothing; republishing every message anyway runs nothing
            // (no new start entry) and counts nothing twice.
            Assert.Equal(new BatchSubmitResult(0, Lines), await batches.SubmitAsync(file));
            foreach (var line in file.Lines)
            {
                await batches.Client.SubmitRawAsync(line.RequestId, line.RequestJson);
            }

            await ContractGuaranteeTests.WaitUntil(async () => await foreign.MessageCountAsync(names.RequestQueue) == 0, 120);
            await Task.Delay(3000);
            Assert.Equal(starts, await StartCountsAsync(foreign, file.Lines));
            status = await batches.StatusAsync("nightly-1");
            Assert.Equal((Lines, Lines - WrongModelLines, WrongModelLines), (status.Total, status.Done, status.Failed));
            Assert.Equal(0u, await foreign.MessageCountAsync(names.ErrorQueue));

            // The batch outlives the stream TTL: a request without batch_id on the same workers expires in seconds.
            await foreign.PublishAsync("""{"request_id":"not-in-a-batch","prompt":"hello","max_tokens":2}""");
            await foreign.WaitTerminalAsync("not-in-a-batch", TimeSpan.FromSeconds(60));
            var plainTtl = await db.KeyTimeToLiveAsync(names.Stream("not-in-a-batch"));
            Assert.True(plainTtl is { } p && p <= TimeSpan.FromSeconds(StreamTtlSeconds), $"plain stream TTL {plainTtl}");
            await Task.Delay(TimeSpan.FromSeconds(StreamTtlSeconds + 1));
            Assert.False(await db.KeyExistsAsync(names.Stream("not-in-a-batch")));
            foreach (var line in file.Lines)
            {
                var ttl = await db.KeyTimeToLiveAsync(names.Stream(line.RequestId));
                Assert.True(ttl is { } t && t > TimeSpan.FromDays(6), $"{line.RequestId}: stream TTL {ttl}");
            }

            Assert.True(await db.KeyTimeToLiveAsync(BatchKeys.Hash(names.StreamPrefix, "nightly-1")) > TimeSpan.FromDays(6));
            var again = await batches.CollectAsync("nightly-1", wait: false);
            Assert.Equal(collected.Lines, again.Lines);
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Bad_batch_lines_are_reported_with_their_line_numbers_while_the_valid_lines_run()
    {
        string template = Path.Combine(model.Folder, "batch-chat.jinja");
        await File.WriteAllTextAsync(template, "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:");
        string[] lines =
        [
            """{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"prompt":"One","max_tokens":3,"temperature":0}}""",
            """{"custom_id":"b", not json""",
            """{"method":"POST","url":"/v1/completions","body":{"prompt":"x"}}""",
            """{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"prompt":"again"}}""",
            """{"custom_id":"c","method":"POST","url":"/v1/embeddings","body":{"input":"x"}}""",
            """{"custom_id":"d","method":"POST","url":"/v1/completions","body":{"prompt":"x","temperature":-1}}""",
            """{"custom_id":"e","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":3,"temperature":0}}""",
            string.Empty,
            """{"custom_id":"f","method":"POST","url":"/v1/completions","body":{"prompt":"x","n":2}}""",
            """{"custom_id":"g","method":"POST","url":"/v1/completions","body":{"prompt":[17,42,99],"max_tokens":2,"temperature":0}}""",
        ];
        var file = BatchFileReader.Read(Encoding.UTF8.GetBytes(string.Join('\n', lines)), "bad-lines");
        output.WriteLine(string.Join('\n', file.Errors));
        Assert.Equal([2, 3, 4, 5, 6, 9], file.Errors.Select(e => e.LineNumber));
        Assert.Contains("not JSON", file.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("custom_id is missing", file.Errors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("duplicates line 1", file.Errors[2].Reason, StringComparison.Ordinal);
        Assert.Contains("/v1/embeddings", file.Errors[3].Reason, StringComparison.Ordinal);
        Assert.Contains("temperature", file.Errors[4].Reason, StringComparison.Ordinal);
        Assert.Contains("body.n", file.Errors[5].Reason, StringComparison.Ordinal);
        Assert.Equal(["a", "e", "g"], file.Lines.Select(l => l.CustomId));

        var names = new TestNames("batch-bad");
        var extra = Settings;
        extra["Folio__Model__ChatTemplate"] = template;
        await using var worker = WorkerProcess.Start(servers, names, model.Path, "batch-bad", extra);
        await using var batches = await FolioBatchClient.ConnectAsync(Options(names));
        await worker.WaitConsumingAsync();
        await batches.SubmitAsync(file);
        var collected = await CollectOrExplainAsync(batches, new ForeignClient(servers, names), "bad-lines", TimeSpan.FromMinutes(2), worker);
        var results = collected.Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["a", "e", "g"], results.Select(o => o["custom_id"]!.GetValue<string>()));
        Assert.Equal("text_completion", results[0]["response"]!["body"]!["object"]!.GetValue<string>());
        var chat = results[1]["response"]!["body"]!;
        Assert.Equal("chat.completion", chat["object"]!.GetValue<string>());
        Assert.Equal("assistant", chat["choices"]![0]!["message"]!["role"]!.GetValue<string>());
        Assert.Equal(3, chat["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(2, results[2]["response"]!["body"]!["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(3, results[2]["response"]!["body"]!["usage"]!["prompt_tokens"]!.GetValue<int>());
        var status = await SettledStatusAsync(batches, "bad-lines");
        Assert.Equal((3L, 3L, 0L), (status.Total, status.Done, status.Failed));
    }

    /// <summary>
    /// The batch's status once every request is counted: the worker counts a batch request right
    /// after writing its terminal entry (a separate write), so the count may trail what collect
    /// already read by a moment. Gives up after 10 s and returns what it has.
    /// </summary>
    private static async Task<BatchStatus> SettledStatusAsync(FolioBatchClient batches, string batchId)
    {
        var status = await batches.StatusAsync(batchId);
        for (var deadline = DateTime.UtcNow.AddSeconds(10); status.Done + status.Failed < status.Total && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(50);
            status = await batches.StatusAsync(batchId);
        }

        return status;
    }

    /// <summary>Collects with wait; when requests are still unfinished after <paramref name="timeout"/>, fails with their streams and the workers' logs.</summary>
    private static async Task<BatchCollectResult> CollectOrExplainAsync(FolioBatchClient batches, ForeignClient client, string batchId, TimeSpan timeout, params WorkerProcess[] workers)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await batches.CollectAsync(batchId, wait: true, cancellationToken: cts.Token);
        }
        catch (OperationCanceledException)
        {
            var now = await batches.CollectAsync(batchId, wait: false);
            var sb = new StringBuilder($"{now.Unfinished.Count} requests unfinished after {timeout}:\n");
            foreach (var m in now.Unfinished.Take(5))
            {
                var entries = await client.ReadAsync(m.RequestId);
                sb.Append(m.RequestId).Append(": ").AppendJoin(" | ", entries.Select(e => string.Join(",", e.Select(kv => kv.Key + "=" + kv.Value)))).Append('\n');
            }

            foreach (var w in workers)
            {
                sb.Append("--- ").Append(w.Name).Append(" log (last lines):\n").AppendJoin('\n', w.Log.Split('\n').TakeLast(30)).Append('\n');
            }

            throw new TimeoutException(sb.ToString());
        }
    }

    private static async Task<Dictionary<string, int>> StartCountsAsync(ForeignClient client, IEnumerable<BatchLine> lines)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            counts[line.RequestId] = (await client.ReadAsync(line.RequestId)).Count(e => e["type"] == EntryTypes.Start);
        }

        return counts;
    }
}
