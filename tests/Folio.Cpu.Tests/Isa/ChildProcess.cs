using System.Diagnostics;

namespace Folio.Cpu.Tests.Isa;

/// <summary>Runs this test assembly as a child process (<see cref="ChildEntry"/>) with extra environment variables.</summary>
internal static class ChildProcess
{
    /// <summary>Fails the calling test when the child exits non-zero (with its output) or runs past <paramref name="limit"/>.</summary>
    public static void Run(IReadOnlyDictionary<string, string> env, TimeSpan limit, params IReadOnlyList<string> args)
    {
        string dll = typeof(ChildEntry).Assembly.Location;
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the child process ({string.Join(' ', args)}) ran past {limit.TotalMinutes} minutes");
        }

        Assert.True(process.ExitCode == 0, $"child exited with {process.ExitCode}: {stdout.Result}\n{stderr.Result}");
    }
}
