using RabbitMQ.Client;
using StackExchange.Redis;

namespace Folio.Worker.Tests;

/// <summary>
/// The real RabbitMQ and Redis the tests run against (started by test.sh / tests/servers.sh). A
/// server that does not answer fails the tests: these are integration tests, never skipped.
/// FOLIO_TEST_RABBITMQ_URI (default amqp://guest:guest@127.0.0.1:5672/), FOLIO_TEST_REDIS (default
/// 127.0.0.1:6379), FOLIO_TEST_SERVERS (the servers.sh script, for restart tests).
/// </summary>
public sealed class ServersFixture : IAsyncLifetime
{
    public string RabbitUri { get; } = Environment.GetEnvironmentVariable("FOLIO_TEST_RABBITMQ_URI") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";

    public string RedisConfiguration { get; } = Environment.GetEnvironmentVariable("FOLIO_TEST_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6379";

    public string ServersScript { get; } = Environment.GetEnvironmentVariable("FOLIO_TEST_SERVERS") is { Length: > 0 } s ? s : Path.Combine(RepoRoot, "tests", "servers.sh");

    public IConnection Rabbit { get; private set; } = null!;

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Worker.sln")))
                {
                    return d.FullName;
                }
            }

            throw new InvalidOperationException("cannot find the repository root (Worker.sln) above " + AppContext.BaseDirectory);
        }
    }

    public async Task InitializeAsync()
    {
        try
        {
            Rabbit = await new ConnectionFactory { Uri = new Uri(RabbitUri), AutomaticRecoveryEnabled = true, NetworkRecoveryInterval = TimeSpan.FromSeconds(1) }.CreateConnectionAsync();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"RabbitMQ does not answer at {RabbitUri} (FOLIO_TEST_RABBITMQ_URI); start it with tests/servers.sh start: {e.Message}", e);
        }

        var options = ConfigurationOptions.Parse(RedisConfiguration);
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = 3000;
        try
        {
            Redis = await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"Redis does not answer at {RedisConfiguration} (FOLIO_TEST_REDIS); start it with tests/servers.sh start: {e.Message}", e);
        }

        Redis.GetDatabase().Ping();
        Redis.Dispose();
        options.AbortOnConnectFail = false;
        Redis = await ConnectionMultiplexer.ConnectAsync(options);
    }

    public async Task DisposeAsync()
    {
        // Leave the broker as we found it: the test queues and exchanges go.
        foreach (var names in TestNames.All)
        {
            try
            {
                await using var ch = await Rabbit.CreateChannelAsync();
                await ch.QueueDeleteAsync(names.RequestQueue);
                await ch.QueueDeleteAsync(names.ErrorQueue);
                await ch.ExchangeDeleteAsync(names.RequestQueue);
                await ch.ExchangeDeleteAsync(names.CancelExchange);
            }
            catch (Exception)
            {
                // A test that failed early may not have created them.
            }
        }

        await Rabbit.CloseAsync();
        Rabbit.Dispose();
        await Redis.CloseAsync();
        Redis.Dispose();
    }

    /// <summary>Runs tests/servers.sh with one command (restart-rabbitmq, restart-redis, ...).</summary>
    public async Task RunServersScriptAsync(string command)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bash", [ServersScript, command]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"servers.sh {command} failed ({p.ExitCode}): {err}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServersCollection : ICollectionFixture<ServersFixture>
{
    public const string Name = "real servers";
}
