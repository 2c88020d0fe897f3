using System.Diagnostics;
using RabbitMQ.Client;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// A 3-node RabbitMQ cluster on loopback (rabbit-c1/2/3@localhost, AMQP ports 5681..5683), started
/// once per test class by tests/rabbitmq-cluster.sh (idempotent: a cluster that already runs is
/// kept, so a rerun costs seconds, not the minute a cold start takes). Apart from the single
/// test node of tests/servers.sh, which other tests use and which this never touches.
/// </summary>
public sealed class RabbitClusterFixture : IAsyncLifetime
{
    private readonly HashSet<int> _killed = [];

    private static string Script => Path.Combine(ServersFixture.RepoRoot, "tests", "rabbitmq-cluster.sh");

    /// <summary>Folio:RabbitMq:Uri naming every node, as an operator writes it for a cluster.</summary>
    public string Uri { get; } = string.Join(",", new[] { 5681, 5682, 5683 }.Select(p => $"amqp://guest:guest@127.0.0.1:{p}/"));

    public async Task InitializeAsync() => await RunAsync("start", TimeSpan.FromMinutes(3));

    /// <summary>SIGKILLs the beam process of the node that leads <paramref name="queue"/> now; returns that node's number.</summary>
    public async Task<int> KillLeaderAsync(string queue)
    {
        int node = int.Parse((await RunAsync("kill-leader " + queue, TimeSpan.FromSeconds(60))).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        _killed.Add(node);
        return node;
    }

    /// <summary>The number of the node that leads <paramref name="queue"/> now (asking takes a few seconds).</summary>
    public static async Task<int> LeaderOfAsync(string queue) =>
        int.Parse((await RunAsync("leader " + queue, TimeSpan.FromSeconds(60))).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>SIGKILLs node <paramref name="node"/>'s beam process at once (no asking first, so a test can time it).</summary>
    public async Task KillNodeAsync(int node)
    {
        await RunAsync("kill-node " + node.ToString(System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromSeconds(10));
        _killed.Add(node);
    }

    /// <summary>Starts the killed nodes again and waits until cluster_status lists three running nodes.</summary>
    public async Task RestartKilledAsync()
    {
        foreach (int node in _killed.ToList())
        {
            await RunAsync("start-node " + node, TimeSpan.FromMinutes(2));
            _killed.Remove(node);
        }
    }

    /// <summary>A connection of the test's own that, like the worker, takes the first node that answers.</summary>
    public static async Task<IConnection> ConnectAsync()
    {
        var factory = new ConnectionFactory { UserName = "guest", Password = "guest", AutomaticRecoveryEnabled = true };
        return await factory.CreateConnectionAsync([.. new[] { 5681, 5682, 5683 }.Select(p => new AmqpTcpEndpoint("127.0.0.1", p))]);
    }

    private static async Task<string> RunAsync(string arguments, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Script);
        foreach (string a in arguments.Split(' '))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("bash did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"tests/rabbitmq-cluster.sh {arguments} failed ({p.ExitCode}): {await stderr}");
        }

        return await stdout;
    }

    public async Task DisposeAsync() => await RestartKilledAsync();
}
