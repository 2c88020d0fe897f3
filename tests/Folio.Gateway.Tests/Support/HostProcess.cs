using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Folio.Gateway.Tests.Support;

/// <summary>
/// A worker or gateway as an operator runs it: `dotnet X.dll` configured by environment variables.
/// <see cref="Kill"/> is SIGKILL: no drain, no goodbye.
/// </summary>
public sealed partial class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private HostProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Log => string.Join('\n', _lines);

    public static HostProcess Start(string project, string name, IDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo("dotnet", [TestServers.BuiltDll(project)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.Environment["DOTNET_gcServer"] = "0";
        foreach (var kv in environment)
        {
            psi.Environment[kv.Key] = kv.Value;
        }

        return new HostProcess(Process.Start(psi)!, name);
    }

    /// <summary>Waits for a log line containing <paramref name="text"/>; returns it.</summary>
    public async Task<string> WaitForLineAsync(string text, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (_lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{Name} did not log '{text}' (exited: {_process.HasExited}); its log:\n{Log}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The gateway's base URL from its "Gateway listening on URL;" line.</summary>
    public async Task<Uri> GatewayUrlAsync()
    {
        string line = await WaitForLineAsync("Gateway listening on");
        return new Uri(ListeningUrl().Match(line).Groups[1].Value);
    }

    /// <summary>SIGKILL.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(10_000);
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"Gateway listening on (http://[^;\s]+);")]
    private static partial Regex ListeningUrl();
}
