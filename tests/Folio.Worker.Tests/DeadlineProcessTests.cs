using System.Globalization;
using System.Text.Json;
using Folio.ModelTools;

namespace Folio.Worker.Tests;

/// <summary>
/// deadline_ms through a real worker process, broker and Redis (contract 6.3): a request whose
/// deadline passes while it runs ends within one engine step with done, finish_reason abort and
/// stop_reason deadline, keeping the tokens it made; the requests beside it are untouched; the
/// worker counts it in folio_requests_expired_total.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class DeadlineProcessTests(ServersFixture servers) : IDisposable
{
    // Big enough (about 30M parameters) that 900 tokens take several seconds on any machine, so the
    // deadline surely passes mid-generation, and small enough to write in a second.
    private readonly string _folder = Directory.CreateTempSubdirectory("folio-deadline-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_running_request_whose_deadline_passes_ends_with_abort_and_stop_reason_deadline()
    {
        string path = Path.Combine(_folder, "model.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions { Dim = 512, Layers = 8, Heads = 8, KvHeads = 4, Ffn = 1536, Vocab = 4096, MaxPositions = 1024 });
        var names = new TestNames("dlrun");
        var client = new ForeignClient(servers, names);
        await using var worker = WorkerProcess.Start(servers, names, path, "deadline-run");
        await worker.WaitConsumingAsync();

        static string Request(string id, long? deadline) => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["request_id"] = id,
            ["prompt"] = "a story that does not end",
            ["max_tokens"] = 900,
            ["ignore_eos"] = true,
            ["deadline_ms"] = deadline,
        });

        long deadlineMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 2_500;
        await client.PublishAsync(Request("due", deadlineMs));
        await client.PublishAsync(Request("free", null));

        var due = await client.WaitTerminalAsync("due", TimeSpan.FromSeconds(60));
        long endedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var done = due[^1];
        Assert.True(done["type"] == "done", string.Join(", ", done.Select(kv => kv.Key + "=" + kv.Value)));
        Assert.Equal("start", due[0]["type"]);
        Assert.Equal("abort", done["finish_reason"]);
        Assert.Equal("deadline", done["stop_reason"]);
        int made = int.Parse(done["completion_tokens"], CultureInfo.InvariantCulture);
        Assert.InRange(made, 1, 899);
        Assert.Equal(made, StreamChecks.AssertWellFormed(due).Length);
        Assert.True(endedAt - deadlineMs < 10_000, $"the done entry came {endedAt - deadlineMs} ms after the deadline");

        // The request beside it runs to its length.
        var free = await client.WaitTerminalAsync("free", TimeSpan.FromSeconds(180));
        Assert.Equal("length", free[^1]["finish_reason"]);

        using var http = new HttpClient();
        string metrics = await http.GetStringAsync(worker.HttpBase + "/metrics");
        Assert.Matches(@"(?m)^folio_requests_expired_total(\{[^}]*\})? 1$", metrics);
    }
}
