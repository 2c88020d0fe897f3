using ScottPlot;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// The plot of <c>folio bench serve</c>: output throughput (solid, left axis) and p99 time to first
/// token (dashed, right axis) against the request rate, for the direct queue path and the gateway.
/// </summary>
public static class ServeBenchPlot
{
    public static void Write(IReadOnlyList<ServeBenchResult> results, string title, string path)
    {
        ArgumentNullException.ThrowIfNull(results);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (var group in results.Where(r => double.IsFinite(r.Rate)).GroupBy(r => r.Path))
        {
            var color = palette.GetColor(i++);
            var rates = group.Select(r => r.Rate).ToArray();
            var t = plot.Add.Scatter(rates, group.Select(r => r.TokensPerSecond).ToArray());
            t.LegendText = $"{group.Key}: output tokens/s";
            t.Color = color;
            t.LineWidth = 2;
            t.MarkerSize = 7;
            var l = plot.Add.Scatter(rates, group.Select(r => r.TtftMs.P99).ToArray());
            l.LegendText = $"{group.Key}: p99 TTFT (ms)";
            l.Color = color;
            l.LinePattern = LinePattern.Dashed;
            l.MarkerSize = 7;
            l.Axes.YAxis = plot.Axes.Right;
        }

        plot.Title(title);
        plot.Axes.Bottom.Label.Text = "request rate (requests/s, Poisson arrivals)";
        plot.Axes.Left.Label.Text = "output tokens/s (solid)";
        plot.Axes.Right.Label.Text = "p99 time to first token, ms (dashed)";
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1000, 650);
    }
}
