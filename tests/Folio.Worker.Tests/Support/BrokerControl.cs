using System.Diagnostics;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// rabbitmqctl against the shared test broker that tests/servers.sh started (its node name, and its
/// private folder for the Erlang cookie: FOLIO_TEST_SERVERS_DIR, default /tmp/folio-test-servers).
/// Only ever used to close one named connection, which affects no other test.
/// </summary>
internal static class BrokerControl
{
    private const string Node = "folio-test@localhost";

    private static string ServersFolder => Environment.GetEnvironmentVariable("FOLIO_TEST_SERVERS_DIR") is { Length: > 0 } d ? d : "/tmp/folio-test-servers";

    /// <summary>The broker's pid of the connection whose client-provided name is <paramref name="clientName"/> (rabbitmqctl takes seconds: find it before the moment matters).</summary>
    public static async Task<string> FindConnectionAsync(string clientName)
    {
        // One line per connection: its pid (as close_connection takes it), a tab, its client properties.
        string table = await RabbitmqctlAsync("list_connections", "pid", "client_properties", "--quiet", "--no-table-headers");
        string? pid = table.Split('\n')
            .Where(line => line.Contains(clientName + "\"", StringComparison.Ordinal))
            .Select(line => line.Split('\t')[0].Trim())
            .FirstOrDefault();
        if (pid is null)
        {
            throw new InvalidOperationException($"no connection named '{clientName}' on the broker; it has:\n{table}");
        }

        return pid;
    }

    /// <summary>Closes, from the broker's side, the connection <paramref name="pid"/> (from <see cref="FindConnectionAsync"/>).</summary>
    public static Task CloseConnectionAsync(string pid) => RabbitmqctlAsync("close_connection", pid, "closed by a Folio fault test");

    private static async Task<string> RabbitmqctlAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/lib/rabbitmq/bin/rabbitmqctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add(Node);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // The cookie lives in the broker's folder (tests/servers.sh sets HOME there for the same reason).
        psi.Environment["HOME"] = Path.Combine(ServersFolder, "rabbitmq");
        psi.Environment["PATH"] = "/usr/lib/rabbitmq/bin:" + Environment.GetEnvironmentVariable("PATH");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("rabbitmqctl did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', args)} failed ({p.ExitCode}): {await stderr}");
        }

        return await stdout;
    }
}
