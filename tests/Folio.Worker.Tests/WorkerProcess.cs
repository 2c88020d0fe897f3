using System.Collections.Concurrent;
using System.Diagnostics;

namespace Folio.Worker.Tests;

/// <summary>
/// A real worker process (`dotnet Folio.Worker.dll`) configured through environment variables, as
/// an operator would run it. Kill() is SIGKILL: no drain, no flush, no goodbye to the broker.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private WorkerProcess(Process process, string name)
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

    public int Pid => _process.Id;

    /// <summary>The TCP ports this process listens on, read from /proc (its socket inodes in LISTEN state).</summary>
    public IReadOnlySet<int> ListeningPorts()
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFiles($"/proc/{Pid}/fd"))
        {
            string? target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        var ports = new HashSet<int>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // local_address rem_address st ... inode: state 0A is LISTEN.
                if (f.Length > 9 && f[3] == "0A" && inodes.Contains(f[9]))
                {
                    ports.Add(Convert.ToInt32(f[1].Split(':')[1], 16));
                }
            }
        }

        return ports;
    }

    public string Log => string.Join('\n', _lines);

    /// <summary>Lines written so far (stdout and stderr), for tests that bound the log volume.</summary>
    public int LineCount => _lines.Count;

    /// <summary>The worker's build output beside this test's (same slot and configuration), or FOLIO_WORKER_DLL.</summary>
    public static string WorkerDll
    {
        get
        {
            if (Environment.GetEnvironmentVariable("FOLIO_WORKER_DLL") is { Length: > 0 } env)
            {
                return env;
            }

            string testDir = AppContext.BaseDirectory;
            string marker = Path.Combine("tests", "Folio.Worker.Tests") + Path.DirectorySeparatorChar;
            int at = testDir.LastIndexOf(marker, StringComparison.Ordinal);
            if (at < 0)
            {
                throw new InvalidOperationException("cannot locate the worker build from " + testDir + "; set FOLIO_WORKER_DLL");
            }

            string dll = Path.Combine(testDir[..at], "src", "Folio.Worker", testDir[(at + marker.Length)..], "Folio.Worker.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("the worker is not built (expected " + dll + "); build src/Folio.Worker first or set FOLIO_WORKER_DLL");
        }
    }

    public static WorkerProcess Start(ServersFixture servers, TestNames names, string modelPath, string name, IDictionary<string, string>? extra = null)
    {
        var psi = new ProcessStartInfo("dotnet", [WorkerDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        var env = new Dictionary<string, string>
        {
            ["Folio__RabbitMq__Uri"] = servers.RabbitUri,
            ["Folio__RabbitMq__RequestQueue"] = names.RequestQueue,
            ["Folio__RabbitMq__CancelExchange"] = names.CancelExchange,
            ["Folio__Redis__Configuration"] = servers.RedisConfiguration,
            ["Folio__Redis__StreamPrefix"] = names.StreamPrefix,
            ["Folio__Model__Path"] = modelPath,
            ["Folio__Engine__KvCacheMemory"] = "64MiB",
            ["Folio__Engine__MaxNumSeqs"] = "4",
            ["Folio__Engine__Threads"] = "1",
            ["Folio__Worker__HttpPort"] = "0",
            ["Folio__Worker__Name"] = name,
            ["Folio__Worker__DrainTimeoutSeconds"] = "5",
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var kv in extra ?? new Dictionary<string, string>())
        {
            env[kv.Key] = kv.Value;
        }

        foreach (var kv in env)
        {
            psi.Environment[kv.Key] = kv.Value;
        }

        return new WorkerProcess(Process.Start(psi)!, name);
    }

    /// <summary>Waits until the worker logs that it consumes the queue.</summary>
    public async Task WaitConsumingAsync(int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!_lines.Any(l => l.Contains("Consuming", StringComparison.Ordinal)))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"worker {Name} did not start consuming (exited: {_process.HasExited}); its log:\n{Log}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The base URL of /metrics, /healthz, /readyz, from the worker's start-up log line.</summary>
    public string HttpBase
    {
        get
        {
            var line = _lines.FirstOrDefault(l => l.Contains("HTTP endpoint", StringComparison.Ordinal)) ?? throw new InvalidOperationException("no HTTP endpoint line in the log:\n" + Log);
            var m = System.Text.RegularExpressions.Regex.Match(line, @"https?://[^\s]*:(\d+)");
            return "http://127.0.0.1:" + m.Groups[1].Value;
        }
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

    public async Task<int> WaitExitAsync(int seconds)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
