using Folio.Cli.CommandLine;
using Folio.Cli.Tests.Support;
using RabbitMQ.Client;

namespace Folio.Cli.Tests;

/// <summary>`folio submit` against a full bounded queue on the real broker (tests/servers.sh): one line saying queue_full and what to do, exit code 1.</summary>
public sealed class SubmitQueueFullTests
{
    private static string RabbitUri => Environment.GetEnvironmentVariable("FOLIO_TEST_RABBITMQ_URI") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";

    private static string Redis => Environment.GetEnvironmentVariable("FOLIO_TEST_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6379";

    [Fact]
    public async Task Submit_to_a_full_bounded_queue_says_queue_full_and_what_to_do_with_exit_code_1()
    {
        string queue = "cli-full-" + Guid.NewGuid().ToString("N")[..10];
        try
        {
            var runs = new List<CliRun>();
            for (int i = 0; i < 4; i++)
            {
                runs.Add(await CliHarness.RunAsync("submit", "--prompt", "hi", "--rabbitmq", RabbitUri, "--redis", Redis, "--queue", queue, "--max-length", "1"));
            }

            Assert.Equal(ExitCodes.Success, runs[0].ExitCode);
            var full = runs.Last();
            Assert.Equal(ExitCodes.Failure, full.ExitCode);
            Assert.StartsWith("folio submit: queue_full: ", full.Error, StringComparison.Ordinal);
            Assert.Contains("retry later", full.Error, StringComparison.Ordinal);
            Assert.Equal(1, full.Error.Count(c => c == '\n'));
        }
        finally
        {
            await using var rabbit = await new ConnectionFactory { Uri = new Uri(RabbitUri) }.CreateConnectionAsync();
            await using var ch = await rabbit.CreateChannelAsync();
            await ch.QueueDeleteAsync(queue);
            await ch.QueueDeleteAsync(queue + "_error");
        }
    }
}
