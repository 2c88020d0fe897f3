using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;
using Folio.Contracts;
using Folio.Testing;
using Folio.Worker.Tests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Folio.Worker.Tests.BadInput;

/// <summary>
/// Valid requests mutated at random (bytes, escapes, types, depth, size, duplicates, the id) and sent
/// through a real worker one at a time: each message gets exactly one answer, either one stream with
/// exactly one terminal entry or the error queue with Folio's headers, never both, never neither, and
/// it is handled once (no redelivery). Whether an id is recoverable is Folio's call, except where an
/// independent JSON reader finds a valid object with a valid id: then it must be answered on its stream.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class MutatedRequestPropertyTests(ServersFixture servers, ITestOutputHelper output)
{
    /// <summary>Modest for CI time (each sample is a round trip through the worker).</summary>
    private const int Iterations = 150;

    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex ValidId();

    [Fact]
    public async Task A_mutated_request_gets_exactly_one_answer_and_is_handled_once()
    {
        var names = new TestNames("prop");
        var client = new ForeignClient(servers, names);
        var log = new CapturingLogger("worker");
        await using var worker = await InProcessWorker.StartAsync(servers, names, maxTokensCap: 100, contextTokens: 300, log: log);
        var known = new HashSet<string>(StringComparer.Ordinal);
        int counter = 0;
        var random = new Random(16);
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);

        await MutatedRequest.Generator.SampleAsync(async sample =>
        {
            // A unique id as long as the placeholder: a random tail, so a flipped byte cannot land on an earlier sample's id.
            string id = $"p{++counter:00000}-" + new string([.. Enumerable.Range(0, 9).Select(_ => (char)('a' + random.Next(26)))]);
            byte[] body = sample.Render(id);
            double answersBefore = Answers(worker);
            await client.PublishBytesAsync(body);

            var deadline = DateTime.UtcNow + AnswerTimeout;
            List<string> fresh;
            while (true)
            {
                fresh = [.. (await StreamIdsAsync(names)).Except(known)];
                bool streamsEnded = fresh.Count > 0 && await AllEndedAsync(client, fresh);
                if (streamsEnded || await client.MessageCountAsync(names.ErrorQueue) > 0)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"no answer within {AnswerTimeout} (a hang or a silent loss) for {sample}");
                await Task.Delay(10);
            }

            // A moment more: a second answer or a redelivery would show up now.
            await Task.Delay(100);
            fresh = [.. (await StreamIdsAsync(names)).Except(known)];
            known.UnionWith(fresh);
            var dead = await client.DrainQueueAsync(names.ErrorQueue);
            string what = $"{sample} -> streams [{string.Join(", ", fresh)}], error queue {dead.Count}";

            Assert.True((fresh.Count == 1 && dead.Count == 0) || (fresh.Count == 0 && dead.Count == 1), "not exactly one answer: " + what);
            Assert.True(Answers(worker) - answersBefore == 1, $"handled {Answers(worker) - answersBefore} times: " + what);
            if (IndependentReaderFindsValidId(body))
            {
                Assert.True(fresh.Count == 1, "a valid JSON object with a valid request_id was not answered on a stream: " + what);
            }

            string outcome = fresh.Count == 1 ? "stream " + (await client.ReadAsync(fresh[0]))[^1]["type"] : "error queue";
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (fresh.Count == 1)
            {
                var entries = await client.ReadAsync(fresh[0]);
                StreamChecks.AssertWellFormed(entries, expectTerminal: entries[^1]["type"]);
                Assert.True(entries.Count(e => e["type"] == "start") <= 1, "taken more than once: " + what);
                if (entries[^1]["type"] == "error")
                {
                    Assert.DoesNotContain(MutatedRequest.Marker, entries[^1]["message"], StringComparison.Ordinal);
                }
            }
            else
            {
                var headers = dead[0].BasicProperties.Headers;
                Assert.True(dead[0].Body.Span.SequenceEqual(body), "the error queue holds another body: " + what);
                Assert.NotNull(headers);
                Assert.False(string.IsNullOrWhiteSpace(Encoding.UTF8.GetString((byte[])headers![WireNames.ReasonHeader]!)), "no reason header: " + what);
                Assert.True(headers.ContainsKey(WireNames.ReasonCodeHeader) && headers.ContainsKey("folio-worker"), "Folio's headers missing: " + what);
                Assert.False(headers.TryGetValue("x-delivery-count", out var n) && Convert.ToInt64(n, System.Globalization.CultureInfo.InvariantCulture) > 0, "redelivered before it was dead-lettered: " + what);
                UserTextChecks.AssertHeadersClean(headers, MutatedRequest.Marker, "error queue");
            }
        }, iter: Iterations, threads: 1);

        // The mutations reach every outcome, so the invariant was tested on each path.
        output.WriteLine(string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
        Assert.Equal(Iterations, outcomes.Values.Sum());
        Assert.All((string[])["stream done", "stream error", "error queue"], o => Assert.True(outcomes.GetValueOrDefault(o) > 0, "no sample ended as " + o));

        UserTextChecks.AssertLogsClean(log.Entries, MutatedRequest.Marker);
        Assert.True(worker.Runtime.IsReady);
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }

    /// <summary>Every way a message can be answered, counted by the worker: done, error entry, error queue, already finished.</summary>
    private static double Answers(InProcessWorker worker)
    {
        string m = MetricsText.Of(worker);
        return MetricsText.Sum(m, "folio_request_success_total") + MetricsText.Sum(m, "folio_request_errors_total")
            + MetricsText.Sum(m, "folio_messages_dead_lettered_total") + MetricsText.Sum(m, "folio_requests_already_finished_total");
    }

    /// <summary>
    /// System.Text.Json's own document reader (not Folio's parser): a UTF-8 JSON object within the size
    /// limit whose request_id is a string of the contract's charset. Such a message has a usable id by
    /// any reading of the contract.
    /// </summary>
    private static bool IndependentReaderFindsValidId(byte[] body)
    {
        if (body.Length > InProcessWorker.MaxMessageBytes)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            string? id = null;
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.NameEquals("request_id"))
                {
                    id = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                }
            }

            return id is not null && ValidId().IsMatch(id);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }

    private async Task<HashSet<string>> StreamIdsAsync(TestNames names)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in servers.Redis.GetServers()[0].KeysAsync(pattern: names.StreamPrefix + "*", pageSize: 1000))
        {
            string k = key!;
            if (!k.Contains('~', StringComparison.Ordinal) && await servers.Redis.GetDatabase().KeyTypeAsync(key) == RedisType.Stream)
            {
                ids.Add(k[names.StreamPrefix.Length..]);
            }
        }

        return ids;
    }

    private static async Task<bool> AllEndedAsync(ForeignClient client, List<string> ids)
    {
        foreach (var id in ids)
        {
            if (!(await client.ReadAsync(id)).Any(e => e["type"] is "done" or "error"))
            {
                return false;
            }
        }

        return true;
    }
}
