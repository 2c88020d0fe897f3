namespace Folio.Cli.Benchmarks;

/// <summary>What one request saw: when it was sent, when each token arrived (Stopwatch ticks).</summary>
public sealed class ServeBenchTrace
{
    public long SentAt { get; set; }

    public List<long> TokenTimes { get; } = [];

    public bool Failed { get; set; }
}

/// <summary>One path at one rate: throughput and the latency percentiles vLLM's benchmark reports.</summary>
public sealed record ServeBenchResult(string Path, double Rate, int Requests, int Failed, double Seconds, long OutputTokens, Percentiles TtftMs, Percentiles TpotMs, Percentiles ItlMs)
{
    public double TokensPerSecond => OutputTokens / Seconds;

    public double RequestsPerSecond => (Requests - Failed) / Seconds;

    public static ServeBenchResult From(string path, double rate, IReadOnlyList<ServeBenchTrace> traces, long start, long end)
    {
        double Ms(long from, long to) => (to - from) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
        var ok = traces.Where(t => !t.Failed && t.TokenTimes.Count > 0).ToList();
        var ttft = ok.Select(t => Ms(t.SentAt, t.TokenTimes[0])).ToList();
        var tpot = ok.Where(t => t.TokenTimes.Count > 1).Select(t => Ms(t.TokenTimes[0], t.TokenTimes[^1]) / (t.TokenTimes.Count - 1)).ToList();
        var itl = ok.SelectMany(t => t.TokenTimes.Zip(t.TokenTimes.Skip(1), (a, b) => Ms(a, b))).ToList();
        return new ServeBenchResult(path, rate, traces.Count, traces.Count - ok.Count, Ms(start, end) / 1000.0, ok.Sum(t => (long)t.TokenTimes.Count), Percentiles.Of(ttft), Percentiles.Of(tpot), Percentiles.Of(itl));
    }
}

/// <summary>p50, p90 and p99 of a sample (nearest rank).</summary>
public readonly record struct Percentiles(double P50, double P90, double P99)
{
    public static Percentiles Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return new Percentiles(double.NaN, double.NaN, double.NaN);
        }

        var sorted = values.OrderBy(v => v).ToArray();
        double At(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Percentiles(At(0.5), At(0.9), At(0.99));
    }
}
