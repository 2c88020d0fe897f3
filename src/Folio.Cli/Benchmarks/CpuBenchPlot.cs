using ScottPlot;

namespace Folio.Cli.Benchmarks;

/// <summary>The plot of <c>folio bench cpu</c>: decode tokens/s against batch size, one line per weight type and engine.</summary>
public static class CpuBenchPlot
{
    public static void Write(IReadOnlyList<CpuBenchRow> rows, MachineLimits limits, string path)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(limits);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (var group in rows.Where(r => !r.Prefill).GroupBy(r => r.Weights))
        {
            var color = palette.GetColor(i++);
            var batches = group.Select(r => (double)r.Batch).ToArray();
            var folio = plot.Add.Scatter(batches, group.Select(r => r.Folio).ToArray());
            folio.LegendText = $"Folio {group.Key}";
            folio.Color = color;
            folio.LineWidth = 2;
            folio.MarkerSize = 7;
            if (group.All(r => r.Llama is not null))
            {
                var llama = plot.Add.Scatter(batches, group.Select(r => r.Llama!.Value).ToArray());
                llama.LegendText = $"llama.cpp {group.Key}";
                llama.Color = color;
                llama.LinePattern = LinePattern.Dashed;
                llama.MarkerSize = 7;
            }
        }

        plot.Axes.Bottom.Label.Text = "batch size (sequences decoding together)";
        plot.Axes.Left.Label.Text = "decode tokens/s";
        plot.Title($"CPU decode, {limits.Threads} threads ({limits.ReadGBps:F1} GB/s read, {limits.F32Gflops:F0} GFLOP/s FMA)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1000, 650);
    }
}
