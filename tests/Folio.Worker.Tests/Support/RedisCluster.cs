using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// A Redis Cluster of the tests' own on loopback: three primaries and three replicas, each a
/// Debian redis-server process with <c>--cluster-enabled yes</c> in a private folder, joined by
/// <c>redis-cli --cluster create --cluster-replicas 1</c>, started once per test class. A node
/// times out after 1 s (a failover takes a few seconds) and a replica may take over however long it
/// was cut off from its primary (<c>cluster-replica-validity-factor 0</c>), which the tests that
/// make a failover lose writes need. No persistence: a node restarted keeps only its nodes.conf and
/// comes back as a replica of whoever took its slots over.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private const int Nodes = 6;
    private readonly Dictionary<int, Process> _processes = [];
    private readonly HashSet<int> _stopped = [];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "folio-redis-cluster-" + Guid.NewGuid().ToString("N")[..8]);
    private ConnectionMultiplexer? _admin;

    public IReadOnlyList<int> Ports { get; private set; } = [];

    /// <summary>A StackExchange.Redis configuration string naming every node, as an operator writes Folio:Redis:Configuration for a cluster.</summary>
    public string Configuration => string.Join(",", Ports.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)));

    /// <summary>A connection of the test's own (reads, CLUSTER calls); follows failovers like any client.</summary>
    public ConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("the cluster is not started");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        Ports = FreePorts(Nodes);
        foreach (int port in Ports)
        {
            await StartNodeAsync(port);
        }

        var create = await RedisProcesses.RunAsync("redis-cli", ["--cluster", "create", .. Ports.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)), "--cluster-replicas", "1", "--cluster-yes"]);
        if (create.ExitCode != 0)
        {
            throw new InvalidOperationException("redis-cli --cluster create failed: " + create.Output);
        }

        await WaitHealthyAsync(TimeSpan.FromSeconds(30));
        var options = ConfigurationOptions.Parse(Configuration);
        options.AllowAdmin = true;
        options.AbortOnConnectFail = false;
        _admin = await ConnectionMultiplexer.ConnectAsync(options);
    }

    /// <summary>The port of the primary that owns <paramref name="key"/>'s hash slot now (asked of a live node, not of a client's cache).</summary>
    public async Task<int> PrimaryOfAsync(RedisKey key)
    {
        int slot = await KeySlotAsync((string)key!);
        foreach (var node in await ClusterNodesAsync())
        {
            if (node.Primary && node.Slots.Any(r => slot >= r.From && slot <= r.To))
            {
                return node.Port;
            }
        }

        throw new InvalidOperationException($"no primary serves slot {slot}");
    }

    /// <summary>The hash slot the cluster itself computes for <paramref name="key"/> (CLUSTER KEYSLOT).</summary>
    public async Task<int> KeySlotAsync(string key) =>
        int.Parse((await RedisCliAsync(Live.First(), "CLUSTER", "KEYSLOT", key)).Output.Trim(), CultureInfo.InvariantCulture);

    /// <summary>The port of a replica of the primary on <paramref name="primaryPort"/>.</summary>
    public async Task<int> ReplicaOfAsync(int primaryPort)
    {
        var nodes = await ClusterNodesAsync();
        string id = nodes.Single(n => n.Port == primaryPort).Id;
        return nodes.First(n => n.PrimaryId == id && !n.Failed).Port;
    }

    /// <summary>SIGKILL: the node's process dies with whatever it had not yet sent its replica.</summary>
    public void Kill(int port)
    {
        RedisProcesses.Stop(_processes[port]);
        _processes.Remove(port);
    }

    /// <summary>SIGSTOP / SIGCONT: the node stops reading (its replication link stalls) and later goes on.</summary>
    public async Task SignalAsync(int port, string signal)
    {
        await RedisProcesses.RunAsync("kill", ["-" + signal, _processes[port].Id.ToString(CultureInfo.InvariantCulture)]);
        if (signal == "STOP")
        {
            _stopped.Add(port);
        }
        else
        {
            _stopped.Remove(port);
        }
    }

    /// <summary>The nodes that run and answer (not killed, not stopped).</summary>
    private IEnumerable<int> Live => _processes.Keys.Where(p => !_stopped.Contains(p)).ToList();

    /// <summary>Closes the primary's links to its replicas: what it writes from now on reaches no replica (they cannot reconnect while stopped).</summary>
    public static Task CutReplicasAsync(int primaryPort) => RedisCliAsync(primaryPort, "CLIENT", "KILL", "TYPE", "replica");

    /// <summary>Waits until the cluster has moved <paramref name="deadPort"/>'s slots to a replica and every live node says cluster_state:ok.</summary>
    public async Task WaitPromotedAsync(int deadPort, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var nodes = await ClusterNodesAsync();
            var dead = nodes.SingleOrDefault(n => n.Port == deadPort);
            if (dead is { Failed: true } && await AllLiveOkAsync() && nodes.Count(n => n.Primary && !n.Failed && n.Slots.Count > 0) == 3)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no replica took over the slots of the node on port {deadPort} within {timeout}: " + string.Join(" | ", nodes.Select(n => n.ToString())));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Starts a killed node again (its nodes.conf kept) and waits until it is a replica in sync with the primary that took its slots.</summary>
    public async Task RestartAsReplicaAsync(int port, TimeSpan timeout)
    {
        await StartNodeAsync(port);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string info = (await RedisCliAsync(port, "INFO", "replication")).Output;
            if (info.Contains("role:slave", StringComparison.Ordinal) && info.Contains("master_link_status:up", StringComparison.Ordinal) && await AllLiveOkAsync())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the node on port {port} did not come back as a replica within {timeout}: {info}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until every node answers, the cluster is ok everywhere and every replica's link to its primary is up.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await AllLiveOkAsync() && await ReplicasSyncedAsync())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the Redis Cluster on ports {string.Join(",", Ports)} did not become healthy within {timeout}");
            }

            await Task.Delay(100);
        }
    }

    private async Task<bool> ReplicasSyncedAsync()
    {
        int replicas = 0;
        foreach (int port in Live)
        {
            string info = (await RedisCliAsync(port, "INFO", "replication")).Output;
            if (info.Contains("role:slave", StringComparison.Ordinal))
            {
                if (!info.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    return false;
                }

                replicas++;
            }
        }

        return replicas == 3;
    }

    private async Task<bool> AllLiveOkAsync()
    {
        foreach (int port in Live)
        {
            if (!(await RedisCliAsync(port, "CLUSTER", "INFO")).Output.Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private async Task<List<ClusterNode>> ClusterNodesAsync()
    {
        foreach (int port in Live)
        {
            var r = await RedisCliAsync(port, "CLUSTER", "NODES");
            if (r.ExitCode == 0 && r.Output.Length > 0)
            {
                return r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ClusterNode.Parse).ToList();
            }
        }

        throw new InvalidOperationException("no cluster node answers");
    }

    private async Task StartNodeAsync(int port)
    {
        string p = port.ToString(CultureInfo.InvariantCulture);
        string dir = Path.Combine(_folder, p);
        Directory.CreateDirectory(dir);
        _processes[port] = await RedisProcesses.StartAsync(port, ["--port", p, "--bind", "127.0.0.1", "--dir", dir, "--save", string.Empty, "--appendonly", "no", "--daemonize", "no",
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0"], dir);
    }

    private static Task<(int ExitCode, string Output)> RedisCliAsync(int port, params string[] args) => RedisProcesses.CliAsync(port, args);

    /// <summary>Ports whose cluster bus port (+10000) is free too.</summary>
    private static int[] FreePorts(int count)
    {
        var ports = new List<int>();
        while (ports.Count < count)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (port + 10000 <= 65535 && !ports.Contains(port) && IsFree(port + 10000))
            {
                ports.Add(port);
            }
        }

        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        foreach (var p in _processes.Values)
        {
            RedisProcesses.Stop(p);
        }

        _processes.Clear();
        RedisProcesses.DeleteFolder(_folder);
    }

    /// <summary>One line of CLUSTER NODES: id, port, role, the primary's id for a replica, failure flag, slot ranges.</summary>
    private sealed record ClusterNode(string Id, int Port, bool Primary, string? PrimaryId, bool Failed, List<(int From, int To)> Slots)
    {
        public static ClusterNode Parse(string line)
        {
            var f = line.Trim().Split(' ');
            string address = f[1].Split('@')[0];
            int port = int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
            var flags = f[2].Split(',');
            var slots = new List<(int, int)>();
            foreach (string s in f.Skip(8))
            {
                if (s.StartsWith('['))
                {
                    continue; // a slot being migrated or imported
                }

                var range = s.Split('-');
                int from = int.Parse(range[0], CultureInfo.InvariantCulture);
                slots.Add((from, range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : from));
            }

            return new ClusterNode(f[0], port, flags.Contains("master"), f[3] == "-" ? null : f[3], flags.Contains("fail"), slots);
        }

        public override string ToString() => $"{Port} {(Primary ? "primary" : "replica")}{(Failed ? " fail" : string.Empty)} slots {Slots.Count}";
    }
}
