using System.Diagnostics;
using System.Globalization;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// Debian's redis-server and redis-cli as child processes of the tests (the Redis Cluster and the
/// Sentinel fixtures): start a server and wait until it answers, ask one with redis-cli, stop it.
/// </summary>
internal static class RedisProcesses
{
    /// <summary>Starts <c>redis-server</c> with <paramref name="arguments"/> and waits until the port answers PING (10 s at most).</summary>
    public static async Task<Process> StartAsync(int port, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }

        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await CliAsync(port, "PING")).Output.Trim() != "PONG")
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                Stop(process);
                throw new InvalidOperationException($"redis-server on port {port} did not start (is redis-server installed? tests/servers.sh install)");
            }

            await Task.Delay(20);
        }

        return process;
    }

    /// <summary>One redis-cli call to the server on <paramref name="port"/>: its exit code and its output (stdout, then stderr).</summary>
    public static Task<(int ExitCode, string Output)> CliAsync(int port, params string[] args) =>
        RunAsync("redis-cli", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. args]);

    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException(file + " did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>SIGKILL (when still running), wait, release.</summary>
    public static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill();
        }

        process.WaitForExit(10_000);
        process.Dispose();
    }

    /// <summary>Removes a fixture's folder; a file still held open leaves it to the system's temp clean-up.</summary>
    public static void DeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: the temp folder is cleaned up by the system.
        }
    }
}
