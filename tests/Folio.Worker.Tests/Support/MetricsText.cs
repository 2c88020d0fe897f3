using System.Globalization;

namespace Folio.Worker.Tests.Support;

/// <summary>Reads samples out of the Prometheus text the worker renders (/metrics).</summary>
internal static class MetricsText
{
    /// <summary>The sum of every sample of <paramref name="name"/> (all label sets); 0 when there is none.</summary>
    public static double Sum(string text, string name)
    {
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            int space = line.LastIndexOf(' ');
            if (space <= 0)
            {
                continue;
            }

            string series = line[..space];
            if (series == name || series.StartsWith(name + "{", StringComparison.Ordinal))
            {
                sum += double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    /// <summary>The in-process worker's metrics as /metrics would render them.</summary>
    public static string Of(InProcessWorker worker) => worker.Metrics.Render(worker.Engine.Load, worker.Runtime.InFlightCount, worker.Runtime.RedisHealthy);
}
