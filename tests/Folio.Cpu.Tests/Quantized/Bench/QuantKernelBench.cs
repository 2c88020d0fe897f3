using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Folio.Cpu.Quantized;
using Folio.Models;
using Folio.Models.Tests.Quantization;

namespace Folio.Cpu.Tests.Quantized.Bench;

/// <summary>
/// Side-by-side microbenchmark of the int8 kernel: <see cref="QuantGemmBaseline"/> (the kernel before
/// the register tiles) and the current <see cref="QuantGemm"/>, on the same packed matrix and the same
/// quantized activations, in one process, taking turns round by round (best round kept), so that the
/// ratio holds on a machine other jobs share. It checks that both give the same bits before timing.
/// Run it from a Release build of this assembly:
/// <c>dotnet tests/Folio.Cpu.Tests/bin.X/Release/net10.0/linux-x64/Folio.Cpu.Tests.dll quant-bench [THREADS] [MB] [TYPES] [ROWS]</c>
/// (TYPES and ROWS comma-separated, e.g. <c>quant-bench 1 128 q8_0,Q4_K 1,64</c>).
/// </summary>
internal static unsafe class QuantKernelBench
{
    private static readonly DType[] Types = [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K];
    private static readonly int[] Batches = [1, 2, 4, 8, 16, 32, 64];
    private const int K = 1024;
    private const int Rounds = 9;

    /// <param name="types">GGML type names to run (q8_0, Q4_K, ...); null for the default four.</param>
    /// <param name="batches">row counts to run; null for 1 to 64.</param>
    public static void Run(TextWriter output, int threads, int megabytes, IReadOnlyList<string>? types = null, IReadOnlyList<int>? batches = null)
    {
        var runTypes = types is null ? Types : types.Select(t => QuantLayouts.Quantized.First(q => string.Equals(QuantLayouts.Name(q), t, StringComparison.OrdinalIgnoreCase))).ToArray();
        var runBatches = batches?.ToArray() ?? Batches;
        output.WriteLine($"int8 kernel, baseline (6f73f4d) against current; K = {K}, {threads} thread(s), ~{megabytes} MB of weights per type, best of {Rounds} rounds, {(threads == 1 ? "thread CPU time" : "wall time")}; VNNI: {System.Runtime.Intrinsics.X86.AvxVnni.IsSupported}");
        output.WriteLine("| type | rows m | baseline ms | current ms | speed-up | current GB/s of weights | current GOP/s |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var type in runTypes)
        {
            RunType(output, type, threads, megabytes, runBatches);
        }
    }

    private static void RunType(TextWriter output, DType type, int threads, int megabytes, int[] batches)
    {
        var (values, bytes) = GgmlReferenceBlocks.Layout(type);
        int rowBytes = K / values * bytes;

        // Enough rows that the weights are far beyond the last-level cache (single decode streams them).
        int n = Math.Max(PanelFormat.Rows, (int)((long)megabytes * 1_000_000 / rowBytes) / PanelFormat.Rows * PanelFormat.Rows);
        var rng = new Random(7);
        const int distinct = 256;
        var rows = Enumerable.Range(0, distinct).Select(_ => GgmlReferenceBlocks.RandomBlocks(type, K / values, rng, scale: 0.01f)).ToArray();
        using var store = new NativeTensorStore("bench");
        var view = store.Add("w", type, [n, K], (long)n * rowBytes);
        for (int r = 0; r < n; r++)
        {
            rows[r % distinct].CopyTo(new Span<byte>(view.Data + ((long)r * rowBytes), rowBytes));
        }

        using var matrix = QuantMatrix.FromTensors([view], [n], K);
        int maxM = batches.Max();
        using var acts = new QuantActivations();
        acts.EnsureCapacity(maxM, K);
        var x = new float[K];
        fixed (float* px = x)
        {
            for (int m = 0; m < maxM; m++)
            {
                for (int k = 0; k < K; k++)
                {
                    px[k] = (float)((rng.NextDouble() * 2) - 1);
                }

                acts.QuantizeRow(px, m, K, matrix.NeedsBlocks32, matrix.NeedsBlocks256);
            }
        }

        var yOld = new float[(long)maxM * n];
        var yNew = new float[(long)maxM * n];
        fixed (float* po = yOld, pn = yNew)
        {
            float* old = po, cur = pn;
            foreach (int m in batches)
            {
                // Fewer repetitions as the batch grows: about the same work per timing.
                int reps = Math.Max(1, 16 / m);
                Call(acts, m, matrix, old, n, threads, baseline: true);
                Call(acts, m, matrix, cur, n, threads, baseline: false);
                for (long i = 0; i < (long)m * n; i++)
                {
                    if (BitConverter.SingleToInt32Bits(old[i]) != BitConverter.SingleToInt32Bits(cur[i]))
                    {
                        throw new InvalidOperationException($"{type} m={m}: output {i} differs: baseline {old[i]:R}, current {cur[i]:R}");
                    }
                }

                double bestOld = double.MaxValue, bestNew = double.MaxValue;
                for (int round = 0; round < Rounds; round++)
                {
                    bestOld = Math.Min(bestOld, Time(() => Call(acts, m, matrix, old, n, threads, baseline: true), reps, threads == 1));
                    bestNew = Math.Min(bestNew, Time(() => Call(acts, m, matrix, cur, n, threads, baseline: false), reps, threads == 1));
                }

                double gbps = matrix.Bytes / bestNew / 1e6;
                double gops = 2.0 * m * n * K / bestNew / 1e6;
                string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
                output.WriteLine($"| {QuantLayouts.Name(type)} | {m} | {F(bestOld, "F2")} | {F(bestNew, "F2")} | {F(bestOld / bestNew, "F2")}x | {F(gbps, "F1")} | {F(gops, "F0")} |");
                output.Flush();
            }
        }
    }

    /// <summary>
    /// Milliseconds per call. With one thread, the thread's own CPU time: on a machine shared with
    /// builds the wall clock counts the time other processes held the core, the thread clock does not
    /// (what it still counts: their cache and memory traffic).
    /// </summary>
    private static double Time(Action call, int reps, bool threadClock)
    {
        long start = threadClock ? ThreadCpuNanoseconds() : Stopwatch.GetTimestamp();
        for (int i = 0; i < reps; i++)
        {
            call();
        }

        return threadClock
            ? (ThreadCpuNanoseconds() - start) / 1e6 / reps
            : Stopwatch.GetElapsedTime(start).TotalMilliseconds / reps;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec value);

    private static long ThreadCpuNanoseconds()
    {
        const int ThreadCpuTimeClock = 3; // CLOCK_THREAD_CPUTIME_ID
        return ClockGetTime(ThreadCpuTimeClock, out var t) == 0 ? (t.Seconds * 1_000_000_000) + t.Nanoseconds : throw new InvalidOperationException("clock_gettime failed");
    }

    private static void Call(QuantActivations acts, int m, QuantMatrix w, float* y, int ldy, int threads, bool baseline)
    {
        nint yAddress = (nint)y;
        if (threads == 1)
        {
            Range(acts, m, w, yAddress, ldy, 0, w.Panels, baseline);
            return;
        }

        // Contiguous panel ranges per thread, as the runner's team hands them out.
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            Range(acts, m, w, yAddress, ldy, (int)((long)w.Panels * t / threads), (int)((long)w.Panels * (t + 1) / threads), baseline));
    }

    private static void Range(QuantActivations acts, int m, QuantMatrix w, nint y, int ldy, int start, int end, bool baseline)
    {
        if (baseline)
        {
            QuantGemmBaseline.Run(acts, m, w, (float*)y, ldy, false, start, end);
        }
        else
        {
            QuantGemm.Run(acts, m, w, (float*)y, ldy, false, start, end);
        }
    }
}
