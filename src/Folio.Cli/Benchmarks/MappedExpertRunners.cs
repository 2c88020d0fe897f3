using Folio.Cpu;
using Folio.Models;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// <c>folio bench cpu --map-experts</c>: beside the runner with experts packed at load, one runner per
/// requested cache size with the experts read from the mapped file (<see cref="CpuRunnerOptions.MapExperts"/>,
/// <see cref="CpuRunnerOptions.ExpertCacheBytes"/>), measured in the same rounds right after the packed
/// one, so that a loaded machine slows both alike and the mapped/packed ratio of a round means
/// something. Each gets its own table rows and, after each case, its cache's counts.
/// </summary>
internal sealed class MappedExpertRunners : IDisposable
{
    private readonly List<(string Label, CpuModelRunner Runner)> _runners = [];
    private readonly TextWriter _output;
    private readonly double[] _best;

    public MappedExpertRunners(LoadedModel model, CpuRunnerOptions packed, CpuBenchOptions o, string label, TextWriter output)
    {
        _output = output;
        if (o.MapExperts && model.Config.NumExperts > 0)
        {
            foreach (long? cache in o.ExpertCaches)
            {
                string name = $"{label} mapped, cache {(cache is { } c ? $"{c / 1e6:F0} MB" : "default")}";
                long before = CpuBench.ResidentBytes();
                var runner = new CpuModelRunner(model, packed with { MapExperts = true, ExpertCacheBytes = cache });
                _runners.Add((name, runner));
                output.WriteLine($"  {name}: resident memory after load {(CpuBench.ResidentBytes() - before) / 1e6:F1} MB more; weights held as {string.Join(", ", runner.WeightBytesByType().Select(kv => $"{kv.Key} {kv.Value / 1e6:F1} MB"))}");
            }
        }

        _best = new double[_runners.Count];
    }

    /// <summary>An untimed first run of a case for each mapped runner (the JIT, and the cache's first fill).</summary>
    public void Start(Func<CpuModelRunner, double> measure)
    {
        Array.Clear(_best);
        foreach (var (_, runner) in _runners)
        {
            measure(runner);
        }
    }

    /// <summary>One timed round of each mapped runner; the text to append to the round's line.</summary>
    public string Round(Func<CpuModelRunner, double> measure, double packed)
    {
        string line = "";
        for (int i = 0; i < _runners.Count; i++)
        {
            double f = measure(_runners[i].Runner);
            _best[i] = Math.Max(_best[i], f);
            line += $"; {_runners[i].Label} {f:F1} tok/s (packed/mapped {packed / f:F2})";
        }

        return line;
    }

    /// <summary>Each mapped runner's best of the case, with its cache's counts printed.</summary>
    public IEnumerable<CpuBenchRow> Rows(string caseName, int batch, bool prefill, double packedBest, long bytesPerStep, long macs, bool int8, double bandwidth)
    {
        var rows = new List<CpuBenchRow>();
        for (int i = 0; i < _runners.Count; i++)
        {
            var (label, runner) = _runners[i];
            var cache = runner.ExpertCache!.Value;
            _output.WriteLine($"  {label}, {caseName}: best {_best[i]:F1} tok/s, packed/mapped of the bests {packedBest / _best[i]:F2}; cache so far {cache.Hits} hits, {cache.Misses} misses, {cache.Evictions} evictions, {cache.UsedBytes / 1e6:F1} MB held of {cache.CapacityBytes / 1e6:F1} MB");
            rows.Add(new CpuBenchRow(label, caseName, batch, prefill, _best[i], null, bytesPerStep, macs, int8, bandwidth));
        }

        return rows;
    }

    public void Dispose()
    {
        foreach (var (_, runner) in _runners)
        {
            runner.Dispose();
        }
    }
}
