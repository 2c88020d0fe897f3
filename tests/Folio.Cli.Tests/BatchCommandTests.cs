using System.Text;
using Folio.Cli.Tests.Support;
using Folio.Contracts;
using StackExchange.Redis;

namespace Folio.Cli.Tests;

/// <summary>
/// `folio batch submit|status|collect|cancel` against the real RabbitMQ and Redis, with no worker:
/// what the commands print and return, the batch they register, and the cancels they publish. The
/// batch running through workers is proven in tests/Folio.Worker.Tests (BatchProcessTests).
/// </summary>
public sealed class BatchCommandTests : IAsyncLifetime
{
    private static readonly string RabbitUri = Environment.GetEnvironmentVariable("FOLIO_TEST_RABBITMQ_URI") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";
    private static readonly string RedisConfiguration = Environment.GetEnvironmentVariable("FOLIO_TEST_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6379";

    private readonly string _tag = "bc" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "folio-batch-cli-" + Guid.NewGuid().ToString("N")[..8]);
    private ConnectionMultiplexer _redis = null!;

    private string Prefix => _tag + ":stream:";

    private string[] Connection => ["--rabbitmq", RabbitUri, "--redis", RedisConfiguration, "--queue", _tag + ".requests", "--stream-prefix", Prefix];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        _redis = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration);
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        var server = _redis.GetServers()[0];
        await foreach (var key in server.KeysAsync(pattern: "*" + _tag + "*"))
        {
            await _redis.GetDatabase().KeyDeleteAsync(key);
        }

        await _redis.DisposeAsync();
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(RabbitUri) };
        await using var rabbit = await factory.CreateConnectionAsync();
        await using var ch = await rabbit.CreateChannelAsync();
        await ch.QueueDeleteAsync(_tag + ".requests", ifUnused: false, ifEmpty: false);
        await ch.QueueDeleteAsync(_tag + ".requests_error", ifUnused: false, ifEmpty: false);
    }

    private async Task<CliRun> RunFolio(params string[] args) => await CliHarness.RunAsync([.. args, .. Connection]);

    [Fact]
    public async Task Submit_reports_bad_lines_by_number_registers_the_valid_ones_and_status_collect_and_cancel_follow_the_batch()
    {
        string file = Path.Combine(_folder, "in.jsonl");
        await File.WriteAllTextAsync(file, string.Join('\n',
            """{"custom_id":"one","method":"POST","url":"/v1/completions","body":{"prompt":"a","max_tokens":2}}""",
            """not json at all""",
            """{"custom_id":"two","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":2}}""",
            """{"custom_id":"one","method":"POST","url":"/v1/completions","body":{"prompt":"b"}}""",
            """{"custom_id":"three","method":"POST","url":"/v1/moderations","body":{"input":"x"}}""",
            """{"custom_id":"four","method":"POST","url":"/v1/completions","body":{"prompt":"x","top_p":2}}""",
            """{"url":"/v1/completions","body":{"prompt":"x"}}""",
            """{"custom_id":"five","method":"POST","url":"/v1/completions","body":{"prompt":[1,2,3],"seed":7}}""") + "\n", new UTF8Encoding(false));

        var submit = await RunFolio("batch", "submit", file);
        Assert.Equal(3, submit.ExitCode);
        string batchId = submit.Out.Trim();
        Assert.Equal(BatchFileReaderId(file), batchId);
        string[] reported = [.. submit.Error.Split('\n').Where(l => l.StartsWith(file + ": line ", StringComparison.Ordinal))];
        Assert.Equal(5, reported.Length);
        Assert.Contains(file + ": line 2: not JSON", reported[0], StringComparison.Ordinal);
        Assert.Contains("line 4: custom_id 'one' duplicates line 1", reported[1], StringComparison.Ordinal);
        Assert.Contains("line 5: url must be /v1/completions or /v1/chat/completions; got '/v1/moderations'", reported[2], StringComparison.Ordinal);
        Assert.Contains("line 6: body: top_p", reported[3], StringComparison.Ordinal);
        Assert.Contains("line 7: custom_id is missing", reported[4], StringComparison.Ordinal);
        Assert.Contains("3 requests published", submit.Error, StringComparison.Ordinal);

        // Three requests on the queue, with ids derived from (batch, custom_id) and the contract fields translated.
        var db = _redis.GetDatabase();
        var members = await db.HashGetAllAsync(BatchKeys.Requests(Prefix, batchId));
        Assert.Equal(["five", "one", "two"], members.Select(m => (string)m.Name!).Order(StringComparer.Ordinal));
        Assert.Contains(BatchKeys.RequestId(batchId, "two"), (string)members.Single(m => m.Name == "two").Value!, StringComparison.Ordinal);

        var status = await RunFolio("batch", "status", batchId);
        Assert.Equal(0, status.ExitCode);
        Assert.Equal("total 3\ndone 0\nfailed 0\nunfinished 3", status.Out.Trim().ReplaceLineEndings("\n"));

        // No worker runs: collect without waiting writes nothing and names what is unfinished.
        string outFile = Path.Combine(_folder, "out.jsonl");
        var collect = await RunFolio("batch", "collect", batchId, "--out", outFile, "--no-wait");
        Assert.Equal(3, collect.ExitCode);
        Assert.Empty(await File.ReadAllTextAsync(outFile));
        Assert.Contains("unfinished: one", collect.Error, StringComparison.Ordinal);
        Assert.Contains("0 results written", collect.Error, StringComparison.Ordinal);

        // A finished stream (as a worker writes it) is collected as an OpenAI batch output line; the others are cancelled.
        await db.StreamAddAsync(Prefix + BatchKeys.RequestId(batchId, "five"), [new("type", "done"), new("finish_reason", "length"), new("stop_reason", ""), new("prompt_tokens", "3"), new("completion_tokens", "16"), new("text", "so it goes")]);
        collect = await RunFolio("batch", "collect", batchId, "--out", outFile, "--no-wait");
        Assert.Equal(3, collect.ExitCode);
        string line = (await File.ReadAllLinesAsync(outFile)).Single();
        Assert.StartsWith($$"""{"id":"batch_req_{{BatchKeys.RequestId(batchId, "five")}}","custom_id":"five","response":{"status_code":200,""", line, StringComparison.Ordinal);
        Assert.Contains("\"object\":\"text_completion\"", line, StringComparison.Ordinal);
        Assert.Contains("\"choices\":[{\"index\":0,\"text\":\"so it goes\",\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":16,\"total_tokens\":19}", line, StringComparison.Ordinal);
        Assert.EndsWith("\"error\":null}", line, StringComparison.Ordinal);

        var cancel = await RunFolio("batch", "cancel", batchId);
        Assert.Equal(0, cancel.ExitCode);
        Assert.Equal("2 cancels published", cancel.Out.Trim());

        // The same file again: the same batch; the line whose request has a stream is not published again
        // (the two no worker took yet are, and a worker would answer a duplicate from its stream).
        var again = await RunFolio("batch", "submit", file);
        Assert.Equal(batchId, again.Out.Trim());
        Assert.Contains("2 requests published, 1 already submitted before", again.Error, StringComparison.Ordinal);
        Assert.Equal("3", (string?)await db.HashGetAsync(BatchKeys.Hash(Prefix, batchId), BatchKeys.Total));
    }

    [Fact]
    public async Task Status_of_an_unknown_batch_exits_1_and_a_bad_batch_id_is_a_usage_error()
    {
        var unknown = await RunFolio("batch", "status", "no-such-batch");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no batch no-such-batch in Redis", unknown.Error, StringComparison.Ordinal);
        var bad = await RunFolio("batch", "status", "bad id!");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("BATCH_ID must be", bad.Error, StringComparison.Ordinal);
    }

    private static string BatchFileReaderId(string file) => Folio.Client.Batches.BatchFileReader.DefaultBatchId(File.ReadAllBytes(file));
}
