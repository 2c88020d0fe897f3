using Folio.Worker.Engine;
using Folio.Worker.Metrics;

namespace Folio.Worker.Tests.Deployment;

/// <summary>
/// The metric names the worker exports, read from what its /metrics endpoint renders (every
/// family's TYPE line and every sample, histogram _bucket/_sum/_count included), not from a list
/// kept beside it.
/// </summary>
internal static class WorkerMetricNames
{
    public static HashSet<string> Read()
    {
        var metrics = new WorkerMetrics("fake");
        // Labelled counters print samples only for labels seen; their TYPE lines are always there.
        metrics.Finished("stop");
        metrics.Error("internal");
        string text = metrics.Render(new EngineLoad(1, 1, 0.5, 0, 0, 0, 10, 20), inFlight: 1, redisHealthy: true);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                names.Add(line.Split(' ')[2]);
            }
            else if (!line.StartsWith('#'))
            {
                int end = line.IndexOfAny(['{', ' ']);
                names.Add(end > 0 ? line[..end] : line);
            }
        }

        return names;
    }
}
