using System.Diagnostics;
using System.Globalization;
using Folio.Cpu.Quantized;
using Folio.Models;
using Folio.Models.Tests.Quantization;

namespace Folio.Cpu.Tests.Bench;

/// <summary>
/// <c>dotnet Folio.Cpu.Tests.dll team-bench [MB] [ROUNDS]</c>: single-row Q4_K GEMMs (K = 1024) over
/// about MB megabytes of weights, cut into operations of 0.6, 1 and 3 MB (a decode step's attention
/// output, q/k/v and MLP projections on the bench model) and one of the whole, each operation one
/// dispatch on two threads with the runner's chunk size, on <see cref="TeamBaseline"/> (one shared
/// counter) and the current <see cref="CpuThreadTeam"/> (a segment per thread) taking turns round by
/// round. Prints the weights' GB/s, median and best of the rounds, and the ratio of the medians.
/// Each team's idle worker is let fall asleep before the other's round, so the two never spin at once.
/// </summary>
internal static unsafe class TeamBench
{
    private const int K = 1024;

    private sealed class GemmWork(QuantActivations activations, float* y) : IParallelWork
    {
        public QuantMatrix Weights = null!;

        public void Execute(int start, int limit, int threadIndex) => QuantGemm.Run(activations, 1, Weights, y, Weights.N, accumulate: false, start, limit);
    }

    private static readonly NoWork Idle = new();

    private sealed class NoWork : IParallelWork
    {
        public void Execute(int start, int limit, int threadIndex)
        {
        }
    }

    public static void Run(TextWriter output, int megabytes, int rounds)
    {
        var (values, bytes) = GgmlReferenceBlocks.Layout(DType.Q4_K);
        int rowBytes = K / values * bytes;
        var rng = new Random(7);
        var rows = Enumerable.Range(0, 256).Select(_ => GgmlReferenceBlocks.RandomBlocks(DType.Q4_K, K / values, rng, scale: 0.01f)).ToArray();
        using var store = new NativeTensorStore("team-bench");
        var matrices = new List<QuantMatrix>();
        QuantMatrix[] Cut(double opMegabytes)
        {
            int n = Math.Max(16, (int)(opMegabytes * 1e6 / rowBytes) / 16 * 16);
            int count = Math.Max(1, (int)(megabytes / opMegabytes));
            var ops = new QuantMatrix[count];
            for (int i = 0; i < count; i++)
            {
                var view = store.Add($"w{matrices.Count}", DType.Q4_K, [n, K], (long)n * rowBytes);
                for (int r = 0; r < n; r++)
                {
                    rows[r % rows.Length].CopyTo(new Span<byte>(view.Data + ((long)r * rowBytes), rowBytes));
                }

                ops[i] = QuantMatrix.FromTensors([view], [n], K);
                matrices.Add(ops[i]);
            }

            return ops;
        }

        try
        {
            (string Name, QuantMatrix[] Ops)[] cases = [("0.6 MB", Cut(0.6)), ("1 MB", Cut(1)), ("3 MB", Cut(3)), ($"{megabytes} MB", Cut(megabytes))];
            using var activations = new QuantActivations();
            activations.EnsureCapacity(1, K);
            var x = new float[K];
            var y = new float[matrices.Max(m => m.N)];
            using var current = new CpuThreadTeam(2);
            using var baseline = new TeamBaseline(2);
            output.WriteLine($"single-row Q4_K GEMMs, K = {K}, ~{megabytes} MB of weights per round, 2 threads, {rounds} rounds, weights GB/s (median, best)");
            output.WriteLine("| operation size | operations | baseline (shared counter) | current (segment per thread) | current / baseline (medians) |");
            output.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            fixed (float* px = x, py = y)
            {
                for (int k = 0; k < K; k++)
                {
                    px[k] = (float)((rng.NextDouble() * 2) - 1);
                }

                activations.QuantizeRow(px, 0, K, blocks32: false, blocks256: true);
                var work = new GemmWork(activations, py);
                foreach (var (name, ops) in cases)
                {
                    var old = new List<double>();
                    var cur = new List<double>();
                    for (int round = 0; round < rounds; round++)
                    {
                        old.Add(Round(ops, work, current, (w, u, c) => baseline.Run(w, u, c)));
                        cur.Add(Round(ops, work, current, (w, u, c) => current.Run(w, u, c)));
                    }

                    double oldMedian = Median(old), curMedian = Median(cur);
                    string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
                    output.WriteLine($"| {name} | {ops.Length} | {F(oldMedian)} ({F(old.Max())}) | {F(curMedian)} ({F(cur.Max())}) | {(curMedian / oldMedian).ToString("F2", CultureInfo.InvariantCulture)}x |");
                    output.Flush();
                }
            }
        }
        finally
        {
            foreach (var m in matrices)
            {
                m.Dispose();
            }
        }
    }

    /// <summary>One pass over every operation of a case, with the runner's chunk size for a GEMM (<paramref name="chunks"/> gives it); GB/s of weights.</summary>
    private static double Round(QuantMatrix[] ops, GemmWork work, CpuThreadTeam chunks, Action<IParallelWork, int, int> run)
    {
        // The other team's worker spins for half a millisecond after its last operation: let it sleep, then wake this one.
        Thread.Sleep(2);
        run(Idle, 2, 1);
        long bytes = 0;
        long start = Stopwatch.GetTimestamp();
        foreach (var m in ops)
        {
            work.Weights = m;
            run(work, m.Panels, chunks.ChunkFor(m.Panels, chunksPerThread: 16));
            bytes += m.Bytes;
        }

        return bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s[s.Length / 2];
    }
}
