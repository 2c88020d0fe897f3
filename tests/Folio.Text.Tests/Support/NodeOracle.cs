using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Folio.Text.Tests.Support;

/// <summary>
/// Runs the npm oracles in tests/node (installed by test.sh with npm ci): a script reads one JSON
/// request on stdin and writes one JSON answer on stdout.
/// </summary>
public static class NodeOracle
{
    private static readonly Lazy<string?> Problem = new(FindProblem);

    /// <summary>Why the oracles cannot run here (no node, or npm ci not run), or null when they can.</summary>
    public static string? Unavailable => Problem.Value;

    /// <summary>An installed npm package's folder under tests/node/node_modules.</summary>
    public static string Package(string name) =>
        Path.Combine(RepositoryPaths.NodeFolder ?? throw new InvalidOperationException("tests/node not found"), "node_modules", name);

    /// <summary>Runs tests/node/<paramref name="script"/> with <paramref name="request"/> and returns its JSON answer.</summary>
    public static JsonNode Run(string script, JsonNode request, int timeoutSeconds = 300)
    {
        if (Unavailable is string problem)
        {
            throw new InvalidOperationException(problem);
        }

        var start = new ProcessStartInfo("node", [script])
        {
            WorkingDirectory = RepositoryPaths.NodeFolder!,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardInputEncoding = new System.Text.UTF8Encoding(false),
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(request.ToJsonString());
        process.StandardInput.Close();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not answer within {timeoutSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} exited with {process.ExitCode}: {stderr.Result}");
        }

        return JsonNode.Parse(stdout.Result) ?? throw new InvalidOperationException($"node {script} printed no JSON");
    }

    private static string? FindProblem()
    {
        if (RepositoryPaths.NodeFolder is not string folder)
        {
            return "tests/node not found (run the tests from a checkout)";
        }

        if (!Directory.Exists(Path.Combine(folder, "node_modules", "@huggingface", "jinja")))
        {
            return "tests/node/node_modules is missing: run (cd tests/node && npm ci), as test.sh does";
        }

        try
        {
            using var probe = Process.Start(new ProcessStartInfo("node", ["--version"]) { RedirectStandardOutput = true, RedirectStandardError = true });
            probe!.WaitForExit(30_000);
            return probe.ExitCode == 0 ? null : "node --version failed";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return "node is not installed: " + e.Message;
        }
    }
}

/// <summary>
/// A test that needs the npm oracles. Skipped with the reason when node or tests/node/node_modules
/// is missing on a developer machine; under CI=true it runs and fails, since test.sh installs them.
/// </summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (!RepositoryPaths.IsCi && NodeOracle.Unavailable is string problem)
        {
            Skip = problem + " (CI=true makes this a failure)";
        }
    }
}

/// <summary>A theory that needs the npm oracles (see <see cref="NodeFactAttribute"/>).</summary>
public sealed class NodeTheoryAttribute : TheoryAttribute
{
    public NodeTheoryAttribute()
    {
        if (!RepositoryPaths.IsCi && NodeOracle.Unavailable is string problem)
        {
            Skip = problem + " (CI=true makes this a failure)";
        }
    }
}
