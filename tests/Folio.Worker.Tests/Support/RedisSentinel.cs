using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// A replicated Redis watched by Sentinel, on loopback, started once per test class: one primary,
/// one replica (<c>replicaof</c>) and three Sentinels (quorum 2) monitoring them as service
/// <see cref="ServiceName"/>, each a Debian redis-server process in a private folder (Sentinel runs
/// as <c>redis-server sentinel.conf --sentinel</c>; it rewrites its file, so each has its own).
/// A primary is judged down after 1 s, so a failover takes a few seconds. No persistence.
/// </summary>
public sealed class RedisSentinelFixture : IAsyncLifetime
{
    public const string ServiceName = "folio-primary";
    private readonly Dictionary<int, Process> _processes = [];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "folio-redis-sentinel-" + Guid.NewGuid().ToString("N")[..8]);
    private ConnectionMultiplexer? _client;

    public int PrimaryPort { get; private set; }

    public int ReplicaPort { get; private set; }

    public IReadOnlyList<int> SentinelPorts { get; private set; } = [];

    /// <summary>
    /// Folio:Redis:Configuration as an operator writes it for Sentinel: the Sentinels' endpoints and
    /// the service name; StackExchange.Redis asks them for the primary and follows its switches.
    /// </summary>
    public string Configuration => string.Join(",", SentinelPorts.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture))) + ",serviceName=" + ServiceName;

    /// <summary>A client of the test's own, through the Sentinels like the worker's.</summary>
    public ConnectionMultiplexer Client => _client ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        int[] ports = FreePorts(5);
        (PrimaryPort, ReplicaPort, SentinelPorts) = (ports[0], ports[1], ports[2..]);
        await StartDataNodeAsync(PrimaryPort, replicaOf: null);
        await StartDataNodeAsync(ReplicaPort, replicaOf: PrimaryPort);
        await WaitAsync(async () => (await RedisCliAsync(ReplicaPort, "INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal), "the replica to sync");
        foreach (int port in SentinelPorts)
        {
            await StartSentinelAsync(port);
        }

        // Every Sentinel knows the replica and the other Sentinels before anything is killed (Redis 7.0's
        // Sentinel has only the MASTER spellings of its subcommands).
        await WaitAsync(async () =>
        {
            foreach (int port in SentinelPorts)
            {
                string primary = await RedisCliAsync(port, "SENTINEL", "MASTER", ServiceName);
                if (!primary.Contains("num-slaves\n1", StringComparison.Ordinal) || !primary.Contains("num-other-sentinels\n2", StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }, "the Sentinels to see the replica and each other");
        var options = ConfigurationOptions.Parse(Configuration);
        options.AbortOnConnectFail = false;
        _client = await ConnectionMultiplexer.ConnectAsync(options);
    }

    /// <summary>SIGKILL the primary: its process dies with whatever it had not sent the replica.</summary>
    public void KillPrimary()
    {
        RedisProcesses.Stop(_processes[PrimaryPort]);
        _processes.Remove(PrimaryPort);
    }

    /// <summary>Waits until the Sentinels name the former replica as the primary and it says role:master.</summary>
    public Task WaitFailedOverAsync(TimeSpan timeout) => WaitAsync(
        async () =>
        {
            string address = await RedisCliAsync(SentinelPorts[0], "SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName);
            return address.Contains(ReplicaPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                && (await RedisCliAsync(ReplicaPort, "INFO", "replication")).Contains("role:master", StringComparison.Ordinal);
        },
        "the Sentinels to promote the replica",
        timeout);

    private async Task StartDataNodeAsync(int port, int? replicaOf)
    {
        string p = port.ToString(CultureInfo.InvariantCulture);
        string dir = Path.Combine(_folder, p);
        Directory.CreateDirectory(dir);
        List<string> args = ["--port", p, "--bind", "127.0.0.1", "--dir", dir, "--save", string.Empty, "--appendonly", "no", "--daemonize", "no"];
        if (replicaOf is int primary)
        {
            args.AddRange(["--replicaof", "127.0.0.1", primary.ToString(CultureInfo.InvariantCulture)]);
        }

        await StartAsync(port, args);
    }

    private async Task StartSentinelAsync(int port)
    {
        string p = port.ToString(CultureInfo.InvariantCulture);
        string dir = Path.Combine(_folder, "sentinel-" + p);
        Directory.CreateDirectory(dir);
        string conf = Path.Combine(dir, "sentinel.conf");
        await File.WriteAllTextAsync(conf, string.Join('\n',
            $"port {p}",
            "bind 127.0.0.1",
            $"dir {dir}",
            $"sentinel monitor {ServiceName} 127.0.0.1 {PrimaryPort.ToString(CultureInfo.InvariantCulture)} 2",
            $"sentinel down-after-milliseconds {ServiceName} 1000",
            $"sentinel failover-timeout {ServiceName} 10000",
            $"sentinel parallel-syncs {ServiceName} 1",
            string.Empty));
        await StartAsync(port, [conf, "--sentinel"]);
    }

    private async Task StartAsync(int port, List<string> args) => _processes[port] = await RedisProcesses.StartAsync(port, args);

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited in vain for {what}");
            }

            await Task.Delay(100);
        }
    }

    private static async Task<string> RedisCliAsync(int port, params string[] args) => (await RedisProcesses.CliAsync(port, args)).Output;

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        int[] ports = [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        foreach (var p in _processes.Values)
        {
            RedisProcesses.Stop(p);
        }

        _processes.Clear();
        RedisProcesses.DeleteFolder(_folder);
    }
}
