namespace Folio.Worker.Tests;

/// <summary>Queue, exchange and key names unique to one test, so tests never see each other's messages.</summary>
internal sealed class TestNames
{
    public TestNames(string? tag = null)
    {
        Prefix = $"t{Guid.NewGuid():N}"[..13] + (tag is null ? string.Empty : "-" + tag);
        All.Add(this);
    }

    /// <summary>Every name set made in this test run, for the fixture to delete at the end.</summary>
    public static System.Collections.Concurrent.ConcurrentBag<TestNames> All { get; } = [];

    public string Prefix { get; }

    public string RequestQueue => Prefix + ".requests";

    public string ErrorQueue => RequestQueue + "_error";

    public string CancelExchange => Prefix + ".cancel";

    public string StreamPrefix => Prefix + ":stream:";

    public string Stream(string requestId) => StreamPrefix + requestId;
}
