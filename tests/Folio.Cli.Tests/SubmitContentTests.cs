using System.Text;
using System.Text.Json;
using Folio.Cli.CommandLine;
using Folio.Cli.Tests.Support;
using RabbitMQ.Client;

namespace Folio.Cli.Tests;

/// <summary>
/// `folio submit` with a chat conversation, an output constraint, a model and a deadline: what
/// reaches the real broker (tests/servers.sh) is the contract request (section 6), and what a worker
/// would refuse is refused before publishing, naming the option to change.
/// </summary>
public sealed class SubmitContentTests
{
    private static string RabbitUri => Environment.GetEnvironmentVariable("FOLIO_TEST_RABBITMQ_URI") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";

    private static string Redis => Environment.GetEnvironmentVariable("FOLIO_TEST_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6379";

    [Fact]
    public async Task A_chat_request_with_a_schema_model_and_deadline_is_published_as_the_contract_says()
    {
        string queue = "cli-chat-" + Guid.NewGuid().ToString("N")[..10];
        string dir = Directory.CreateTempSubdirectory("folio-submit-").FullName;
        string messages = Path.Combine(dir, "messages.json");
        string schema = Path.Combine(dir, "schema.json");
        string tools = Path.Combine(dir, "tools.json");
        await File.WriteAllTextAsync(messages, """[{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Name a colour."}]""");
        await File.WriteAllTextAsync(schema, """{"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}""");
        await File.WriteAllTextAsync(tools, """[{"type": "function", "function": {"name": "paint", "parameters": {"type": "object"}}}]""");
        try
        {
            long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var run = await CliHarness.RunAsync(
                "submit", "--messages", messages, "--tools", tools, "--kwargs", """{"enable_thinking": false}""", "--json-schema", schema,
                "--model", "demo", "--deadline-seconds", "60", "--max-tokens", "20", "--request-id", "cli-chat-1",
                "--rabbitmq", RabbitUri, "--redis", Redis, "--queue", queue);
            Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
            Assert.Equal("cli-chat-1", run.Out.Trim());

            await using var rabbit = await new ConnectionFactory { Uri = new Uri(RabbitUri) }.CreateConnectionAsync();
            await using var ch = await rabbit.CreateChannelAsync();
            var message = await ch.BasicGetAsync(queue, autoAck: true);
            Assert.NotNull(message);
            using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(message.Body.Span));
            var root = doc.RootElement;
            Assert.Equal("cli-chat-1", root.GetProperty("request_id").GetString());
            Assert.False(root.TryGetProperty("prompt", out _), "a chat request carries messages, not a prompt");
            Assert.Equal(2, root.GetProperty("messages").GetArrayLength());
            Assert.Equal("Name a colour.", root.GetProperty("messages")[1].GetProperty("content").GetString());
            Assert.Equal("paint", root.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
            Assert.False(root.GetProperty("chat_template_kwargs").GetProperty("enable_thinking").GetBoolean());
            Assert.Equal("string", root.GetProperty("structured_outputs").GetProperty("json").GetProperty("properties").GetProperty("colour").GetProperty("type").GetString());
            Assert.Equal("demo", root.GetProperty("model").GetString());
            Assert.Equal(20, root.GetProperty("max_tokens").GetInt32());
            Assert.InRange(root.GetProperty("deadline_ms").GetInt64(), before + 59_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 61_000);
        }
        finally
        {
            await using var rabbit = await new ConnectionFactory { Uri = new Uri(RabbitUri) }.CreateConnectionAsync();
            await using var ch = await rabbit.CreateChannelAsync();
            await ch.QueueDeleteAsync(queue);
            await ch.QueueDeleteAsync(queue + "_error");
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("give exactly one of --prompt, --prompt-token-ids and --messages", "--prompt", "hi", "--messages", "MESSAGES")]
    [InlineData("give exactly one of --prompt, --prompt-token-ids and --messages")]
    [InlineData("--tools and --kwargs go with --messages", "--prompt", "hi", "--kwargs", "{}")]
    [InlineData("give at most one output constraint; got --regex, --choice", "--prompt", "hi", "--regex", "[0-9]+", "--choice", "yes")]
    [InlineData("--messages: not valid JSON", "--messages", "BROKEN")]
    [InlineData("--messages: the file must hold a JSON array of messages", "--messages", "NUMBER")]
    [InlineData("--messages nowhere.json: no such file", "--messages", "nowhere.json")]
    [InlineData("--json-schema: json_schema: keyword 'uniqueItems'", "--prompt", "hi", "--json-schema", "UNSUPPORTED")]
    [InlineData("--regex: ", "--prompt", "hi", "--regex", "[0-9")]
    public async Task What_a_worker_would_refuse_is_refused_before_publishing_naming_the_option(string expected, params string[] args)
    {
        string dir = Directory.CreateTempSubdirectory("folio-submit-").FullName;
        try
        {
            var files = new Dictionary<string, string>
            {
                ["MESSAGES"] = """[{"role": "user", "content": "hi"}]""",
                ["BROKEN"] = "[{\"role\": ",
                ["NUMBER"] = "42",
                ["UNSUPPORTED"] = """{"type": "array", "items": {"type": "integer"}, "uniqueItems": true}""",
            };
            var resolved = args.Select(a =>
            {
                if (!files.TryGetValue(a, out string? text))
                {
                    return a;
                }

                string file = Path.Combine(dir, a + ".json");
                File.WriteAllText(file, text);
                return file;
            });

            // No broker is reached: the port is closed, so a request that got past the checks would fail differently.
            var run = await CliHarness.RunAsync(["submit", .. resolved, "--rabbitmq", "amqp://guest:guest@127.0.0.1:1/", "--redis", Redis]);
            Assert.Equal(ExitCodes.Usage, run.ExitCode);
            Assert.Contains(expected, run.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
