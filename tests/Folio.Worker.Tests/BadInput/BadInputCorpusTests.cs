using System.Text;
using Folio.Contracts;
using Folio.Testing;
using Folio.Worker.Tests.Support;
using StackExchange.Redis;

namespace Folio.Worker.Tests.BadInput;

/// <summary>
/// The whole bad-input corpus against the real servers through one worker, each kind followed by a
/// good request: every kind gets exactly the answer it must (its stream's terminal entry naming the
/// field, or the error queue with Folio's headers), no message is delivered twice, the good requests
/// all finish, the worker stays up, and no marker text a user put in a prompt, a stop string, a field
/// name or a body reaches a log line (captured at every level), a header or an error message.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class BadInputCorpusTests(ServersFixture servers)
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void The_corpus_holds_over_a_hundred_distinct_kinds()
    {
        var kinds = BadInputCorpus.Build();
        Assert.True(kinds.Count >= 100, $"only {kinds.Count} kinds");
        Assert.Equal(kinds.Count, kinds.Select(k => k.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(kinds.Count, kinds.Select(k => Convert.ToBase64String(k.Body)).Distinct(StringComparer.Ordinal).Count());
        var ids = kinds.Where(k => k.Id is not null).Select(k => k.Id!).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.True(RequestIdRules.IsValid(id), id));
        Assert.All(ids, id => Assert.DoesNotContain(BadInputCorpus.MarkerPrefix, id, StringComparison.Ordinal));
        foreach (var e in Enum.GetValues<Expected>())
        {
            Assert.Contains(kinds, k => k.Expect == e);
        }
    }

    [Fact]
    public async Task Every_kind_of_bad_input_is_answered_once_without_echoing_user_text_and_good_requests_around_it_finish()
    {
        var kinds = BadInputCorpus.Build();
        var names = new TestNames("corpus");
        var client = new ForeignClient(servers, names);
        var log = new CapturingLogger("worker");
        await using var worker = await InProcessWorker.StartAsync(servers, names, maxTokensCap: BadInputCorpus.MaxTokensCap, contextTokens: BadInputCorpus.ContextTokens, log: log);

        var good = new List<GenerationRequest>();
        for (int i = 0; i < kinds.Count; i++)
        {
            await client.PublishBytesAsync(kinds[i].Body);
            var r = new GenerationRequest { RequestId = $"good-{i}", Prompt = $"good {i}", MaxTokens = 3, Seed = i, IgnoreEos = true };
            good.Add(r);
            await client.PublishAsync($$"""{"request_id":"{{r.RequestId}}","prompt":"{{r.Prompt}}","max_tokens":3,"seed":{{i}},"ignore_eos":true}""");
        }

        // The good requests around every kind finish with the reference tokens: nothing blocked the queue.
        foreach (var r in good)
        {
            Assert.Equal(ContractGuaranteeTests.ExpectedTokens(r, worker.Engine), StreamChecks.AssertWellFormed(await client.WaitTerminalAsync(r.RequestId, AnswerTimeout)));
        }

        var failures = new List<string>();
        foreach (var kind in kinds.Where(k => k.Expect != Expected.ErrorQueue))
        {
            try
            {
                await AssertStreamAnswerAsync(client, kind);
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or TimeoutException)
            {
                failures.Add($"[{kind.Name}] {UserTextChecks.Printable(e.Message)}");
            }
        }

        var deadKinds = kinds.Where(k => k.Expect == Expected.ErrorQueue).ToList();
        var dead = await DrainErrorQueueAsync(client, names, deadKinds.Count);
        foreach (var kind in deadKinds)
        {
            var moved = dead.Where(d => d.Body.AsSpan().SequenceEqual(kind.Body)).ToList();
            if (moved.Count != 1)
            {
                failures.Add($"[{kind.Name}] expected once in the error queue, found {moved.Count} times");
                continue;
            }

            try
            {
                AssertErrorQueueHeaders(kind, moved[0].Headers);
            }
            catch (Xunit.Sdk.XunitException e)
            {
                failures.Add($"[{kind.Name}] {UserTextChecks.Printable(e.Message)}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {kinds.Count} kinds were not answered as they must be:\n" + string.Join('\n', failures));

        // Nothing else in the error queue (a stream answer is never also dead-lettered), and the only
        // streams are the ones expected: no kind for the error queue wrote one, no loser of a duplicate id.
        Assert.Equal(deadKinds.Count, dead.Count);
        var streams = await StreamKeysAsync(names);
        var expectedStreams = kinds.Where(k => k.Id is not null).Select(k => k.Id!).Concat(good.Select(g => g.RequestId)).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(streams.Except(expectedStreams));
        Assert.Empty(expectedStreams.Except(streams));

        // Each message was handled once: one answer counted per kind, nothing redelivered or resumed.
        string metrics = MetricsText.Of(worker);
        Assert.Equal(kinds.Count(k => k.Expect == Expected.StreamError), MetricsText.Sum(metrics, "folio_request_errors_total"));
        Assert.Equal(deadKinds.Count, MetricsText.Sum(metrics, "folio_messages_dead_lettered_total"));
        Assert.Equal(0, MetricsText.Sum(metrics, "folio_requests_resumed_total"));
        Assert.Equal(0, MetricsText.Sum(metrics, "folio_requests_already_finished_total"));
        Assert.Equal(good.Count + kinds.Count(k => k.Expect == Expected.Done), worker.Engine.Submitted);

        // No user text and no raw control character in any log line, at any level; the volume is per
        // message, not a loop (a few lines for each of the messages at most).
        var entries = log.Entries;
        Assert.Equal(kinds.Count(k => k.Expect == Expected.StreamError), entries.Count(e => e.Message.Contains(" rejected (", StringComparison.Ordinal)));
        Assert.Equal(deadKinds.Count, entries.Count(e => e.Message.Contains("moved to the error queue", StringComparison.Ordinal)));
        UserTextChecks.AssertLogsClean(entries, BadInputCorpus.MarkerPrefix);
        Assert.DoesNotContain(entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
        Assert.True(entries.Count <= (3 * (kinds.Count + good.Count)) + 20, $"{entries.Count} log lines for {kinds.Count + good.Count} messages");

        Assert.True(worker.Runtime.IsReady, "the worker is not ready after the corpus");
        await worker.AssertEverythingAcknowledgedAsync(client, names.RequestQueue);
    }

    private static async Task AssertStreamAnswerAsync(ForeignClient client, BadInputKind kind)
    {
        var entries = await client.WaitTerminalAsync(kind.Id!, AnswerTimeout);
        if (kind.Expect == Expected.Done)
        {
            StreamChecks.AssertWellFormed(entries, expectTerminal: "done");
            return;
        }

        StreamChecks.AssertWellFormed(entries, expectTerminal: "error");
        var error = Assert.Single(entries); // never taken: no start entry
        Assert.Contains(error["code"], kind.Codes);
        string message = error["message"];
        Assert.Contains(kind.Names!, message, StringComparison.Ordinal);
        Assert.DoesNotContain(BadInputCorpus.MarkerPrefix, message, StringComparison.OrdinalIgnoreCase);
        UserTextChecks.AssertNoControlCharacters(message, "error message");
        foreach (var other in kind.NoStreamFor)
        {
            Assert.Empty(await client.ReadAsync(other));
        }
    }

    private static void AssertErrorQueueHeaders(BadInputKind kind, IDictionary<string, object?>? headers)
    {
        Assert.NotNull(headers);
        string reason = Encoding.UTF8.GetString(Assert.IsType<byte[]>(headers![WireNames.ReasonHeader]));
        Assert.False(string.IsNullOrWhiteSpace(reason));
        Assert.Equal(kind.Codes[0], Encoding.UTF8.GetString(Assert.IsType<byte[]>(headers[WireNames.ReasonCodeHeader])));
        Assert.True(headers.ContainsKey("folio-worker"));
        Assert.False(headers.ContainsKey(WireNames.RequestIdHeader), "no usable id, yet a request id header");
        if (kind.Names is { } named)
        {
            Assert.Contains(named, reason, StringComparison.Ordinal);
        }

        // Delivered once: a requeue would have left a delivery count on the message.
        Assert.True(!headers.TryGetValue("x-delivery-count", out var count) || Convert.ToInt64(count, System.Globalization.CultureInfo.InvariantCulture) == 0, "redelivered before it was dead-lettered");
        UserTextChecks.AssertHeadersClean(headers, BadInputCorpus.MarkerPrefix, "error queue");
    }

    /// <summary>Waits for <paramref name="expected"/> messages in the error queue, then a moment more to see that no others follow, and takes them all.</summary>
    internal static async Task<List<(byte[] Body, IDictionary<string, object?>? Headers)>> DrainErrorQueueAsync(ForeignClient client, TestNames names, int expected)
    {
        var deadline = DateTime.UtcNow + AnswerTimeout;
        while (await client.MessageCountAsync(names.ErrorQueue) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await Task.Delay(500);
        return [.. (await client.DrainQueueAsync(names.ErrorQueue)).Select(d => (d.Body.ToArray(), d.BasicProperties.Headers))];
    }

    /// <summary>The request ids of every stream under the test's prefix (the state hashes and cancel markers carry a '~').</summary>
    private async Task<HashSet<string>> StreamKeysAsync(TestNames names)
    {
        var server = servers.Redis.GetServers()[0];
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in server.KeysAsync(pattern: names.StreamPrefix + "*", pageSize: 1000))
        {
            string k = key!;
            if (!k.Contains('~', StringComparison.Ordinal) && await servers.Redis.GetDatabase().KeyTypeAsync(key) == RedisType.Stream)
            {
                ids.Add(k[names.StreamPrefix.Length..]);
            }
        }

        return ids;
    }
}
