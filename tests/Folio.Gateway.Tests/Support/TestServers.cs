namespace Folio.Gateway.Tests.Support;

/// <summary>
/// The real RabbitMQ and Redis (tests/servers.sh starts them; `eval "$(bash tests/servers.sh env)"`).
/// A server that does not answer fails the test that needs it: these are integration tests.
/// </summary>
public static class TestServers
{
    public static string RabbitUri { get; } = Environment.GetEnvironmentVariable("FOLIO_TEST_RABBITMQ_URI") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";

    public static string Redis { get; } = Environment.GetEnvironmentVariable("FOLIO_TEST_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6379";

    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Worker.sln")))
                {
                    return d.FullName;
                }
            }

            throw new InvalidOperationException("cannot find the repository root (Worker.sln) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A host's build output beside this test's (same slot and configuration): src/NAME/bin.SLOT/Release/net10.0/NAME.dll.</summary>
    public static string BuiltDll(string project)
    {
        string testDir = AppContext.BaseDirectory;
        string marker = Path.Combine("tests", "Folio.Gateway.Tests") + Path.DirectorySeparatorChar;
        int at = testDir.LastIndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            throw new InvalidOperationException("cannot locate the build of " + project + " from " + testDir);
        }

        string dll = Path.Combine(testDir[..at], "src", project, testDir[(at + marker.Length)..], project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{project} is not built (expected {dll}); build tests/Folio.Gateway.Tests first");
    }
}
