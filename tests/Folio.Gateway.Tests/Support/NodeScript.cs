using System.Diagnostics;
using System.Text.Json;

namespace Folio.Gateway.Tests.Support;

/// <summary>Runs a script of tests/node (npm packages test.sh installs with npm ci) and returns its JSON output.</summary>
public static class NodeScript
{
    public static async Task<JsonElement> RunAsync(string script, IDictionary<string, string> environment, int timeoutSeconds = 180)
    {
        string folder = Path.Combine(TestServers.RepoRoot, "tests", "node");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "openai")))
        {
            throw new InvalidOperationException("tests/node/node_modules lacks the npm packages: run (cd tests/node && npm ci) as test.sh does");
        }

        var psi = new ProcessStartInfo("node", [Path.Combine(folder, script)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        foreach (var kv in environment)
        {
            psi.Environment[kv.Key] = kv.Value;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} ran longer than {timeoutSeconds} s; stderr:\n{await stderr}");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} exited {p.ExitCode}; stderr:\n{await stderr}\nstdout:\n{await stdout}");
        }

        return JsonDocument.Parse(await stdout).RootElement.Clone();
    }
}
