using System.Diagnostics;
using System.Globalization;
using Folio.Cli.Progress;
using Folio.Cpu;
using Folio.Engine.Execution;
using Folio.Models;
using Folio.Models.Loading;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// <c>folio bench cpu</c>: Folio's CPU backend against llama.cpp (LLamaSharp) on the same GGUF files and
/// thread count, in one process run, both engines loaded and taking turns case by case and round by
/// round (a noisy neighbour hits both alike; each side's best round is kept). Per model: single
/// decode, batched decode and the prefill of a long prompt, with the weight bytes Folio reads per
/// token, the GB/s that makes and its share of the machine's read bandwidth, and the GFLOP/s (f32
/// weights) or GOP/s (int8 path) and its share of the FMA or VNNI peak; and the resident memory of
/// each loaded model beside its file size and KV pool.
/// </summary>
public static class CpuBench
{
    private const int BlockSize = 16;

    /// <param name="progress">Result lines (figures, the table) go to its stdout; one task step per measured round.</param>
    public static IReadOnlyList<CpuBenchRow> Run(CpuBenchOptions options, IProgressDisplay progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        using var output = new ProgressLineWriter(progress);
        if (options.Models.Count == 0 || options.Threads < 1 || options.Rounds < 1 || options.PromptTokens < 1 || options.DecodeSteps < 1 || options.PrefillTokens < 0 || options.Batches.Any(b => b < 1))
        {
            throw new ArgumentException("give at least one model; threads, rounds, batches, prompt tokens and decode steps must be positive, prefill tokens not negative");
        }

        var limits = options.Limits ?? MachineLimits.Measure(options.Threads);
        MachineBench.Print(limits, 1L << 30, output);
        output.WriteLine();
        var rows = new List<CpuBenchRow>();
        int casesPerModel = 1 + options.Batches.Count(b => b > 1) + (options.PrefillTokens > 0 ? 1 : 0);
        var task = progress.AddTask("rounds", options.Models.Count * casesPerModel * options.Rounds);

        // One 1 GiB probe buffer for the whole run, written once, not one per model.
        using var probe = new BandwidthProbe(limits);
        foreach (string path in options.Models)
        {
            rows.AddRange(RunModel(path, options, probe, output, task, cancellationToken));
        }

        task.Complete();

        output.WriteLine();
        PrintTable(rows, limits, output);
        if (options.PlotPath is { } plot)
        {
            CpuBenchPlot.Write(rows, limits, plot);
            output.WriteLine($"plot: {plot}");
        }

        return rows;
    }

    private static List<CpuBenchRow> RunModel(string path, CpuBenchOptions o, BandwidthProbe probe, TextWriter output, IProgressTask task, CancellationToken cancellationToken)
    {
        string label = Path.GetFileNameWithoutExtension(path);
        var cases = new List<int> { 1 };
        cases.AddRange(o.Batches.Where(b => b > 1));
        int maxBatch = cases.Max();
        int blocksPerSeq = (Math.Max(o.PromptTokens + o.DecodeSteps + 1, o.PrefillTokens) + BlockSize - 1) / BlockSize;

        long rssBefore = ResidentBytes();
        using var model = ModelLoader.Load(path);
        var c = model.Config;
        var runnerOptions = new CpuRunnerOptions { NumBlocks = maxBatch * blocksPerSeq, BlockSize = BlockSize, Threads = o.Threads, MapExperts = o.MapExperts ? false : null };
        using var runner = new CpuModelRunner(model, runnerOptions);
        long rssAfter = ResidentBytes();
        long fileBytes = new FileInfo(path).Length;
        long macs = LinearMacs(c);
        bool int8 = !runner.WeightBytesByType().ContainsKey("F32");
        output.WriteLine($"{label}: {path}: hidden {c.HiddenSize}, layers {c.NumLayers}, heads {c.NumHeads}/{c.NumKvHeads}, ffn {c.IntermediateSize}, vocab {c.VocabSize}, {macs / 1e6:F1}M weights in linear layers, tied {c.TieWordEmbeddings}");
        output.WriteLine($"  weights held as {string.Join(", ", runner.WeightBytesByType().Select(kv => $"{kv.Key} {kv.Value / 1e6:F1} MB"))}; {runner.WeightBytes / 1e6:F1} MB read per step");
        output.WriteLine($"  resident memory of the loaded model: {(rssAfter - rssBefore) / 1e6:F1} MB (file {fileBytes / 1e6:F1} MB + KV pool {runner.KvCacheBytes / 1e6:F1} MB = {(fileBytes + runner.KvCacheBytes) / 1e6:F1} MB)");
        using var mapped = new MappedExpertRunners(model, runnerOptions, o, label, output);

        using var peer = o.SkipLlama ? null : new LlamaPeer(path, o.Threads);
        var rows = new List<CpuBenchRow>();
        foreach (int b in cases)
        {
            double folio = 0, llama = 0, bandwidth = 0;
            int steps = b == 1 ? o.DecodeSteps : Math.Max(1, o.DecodeSteps / 4);
            WarmUp(label, $"batch {b,3}", () => FolioDecode(runner, b, o.PromptTokens, steps, blocksPerSeq), peer is null ? null : () => peer.Decode(b, o.PromptTokens, steps, c.VocabSize), output);
            mapped.Start(r => FolioDecode(r, b, o.PromptTokens, steps, blocksPerSeq));
            var profile = o.OpTimes ? new StepProfile() : null;
            for (int round = 0; round < o.Rounds; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                double gbps = probe.Measure();
                double f = FolioDecode(runner, b, o.PromptTokens, steps, blocksPerSeq, profile);
                if (f > folio)
                {
                    (folio, bandwidth) = (f, gbps);
                }

                string line = $"  {label} batch {b,3} round {round + 1}: read bandwidth {gbps,5:F1} GB/s, folio {f,9:F1} tok/s ({100 * f * runner.WeightBytes / b / 1e9 / gbps,3:F0}% of it)";
                line += mapped.Round(r => FolioDecode(r, b, o.PromptTokens, steps, blocksPerSeq), f);
                if (peer is not null)
                {
                    double l = peer.Decode(b, o.PromptTokens, steps, c.VocabSize);
                    llama = Math.Max(llama, l);
                    line += $", llama.cpp {l,9:F1} tok/s";
                }

                output.WriteLine(line);
                task.Advance(description: $"{label} batch {b} round {round + 1}");
            }

            if (profile is not null)
            {
                output.WriteLine($"  {label} batch {b,3} step time by phase, every round's timed steps: {profile.Summary()}");
            }

            rows.Add(new CpuBenchRow(label, b == 1 ? "single decode" : $"decode, batch {b}", b, false, folio, peer is null ? null : llama, runner.WeightBytes, macs, int8, bandwidth));
            rows.AddRange(mapped.Rows(b == 1 ? "single decode" : $"decode, batch {b}", b, false, folio, runner.WeightBytes, macs, int8, bandwidth));
        }

        if (o.PrefillTokens > 0)
        {
            double folio = 0, llama = 0;
            WarmUp(label, $"prefill {o.PrefillTokens}", () => FolioPrefill(runner, o.PrefillTokens, blocksPerSeq), peer is null ? null : () => peer.Prefill(o.PrefillTokens, c.VocabSize), output);
            mapped.Start(r => FolioPrefill(r, o.PrefillTokens, blocksPerSeq));
            for (int round = 0; round < o.Rounds; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                double f = FolioPrefill(runner, o.PrefillTokens, blocksPerSeq);
                folio = Math.Max(folio, f);
                string line = $"  {label} prefill {o.PrefillTokens} round {round + 1}: folio {f,9:F1} tok/s";
                line += mapped.Round(r => FolioPrefill(r, o.PrefillTokens, blocksPerSeq), f);
                if (peer is not null)
                {
                    double l = peer.Prefill(o.PrefillTokens, c.VocabSize);
                    llama = Math.Max(llama, l);
                    line += $", llama.cpp {l,9:F1} tok/s";
                }

                output.WriteLine(line);
                task.Advance(description: $"{label} prefill round {round + 1}");
            }

            rows.Add(new CpuBenchRow(label, $"prefill, {o.PrefillTokens}-token prompt", o.PrefillTokens, true, folio, peer is null ? null : llama, runner.WeightBytes, macs, int8, 0));
            rows.AddRange(mapped.Rows($"prefill, {o.PrefillTokens}-token prompt", o.PrefillTokens, true, folio, runner.WeightBytes, macs, int8, 0));
        }

        return rows;
    }

    /// <summary>
    /// One untimed round of each engine before a case's timed rounds. Folio's first round of a shape
    /// runs partly in the .NET JIT's unoptimized first tier (hot loops move to optimized code only
    /// after being called for a while), so without it the first timed round measured the JIT, not
    /// the kernels; llama.cpp gets the same round so that both start from warm caches and threads.
    /// </summary>
    private static void WarmUp(string label, string what, Func<double> folio, Func<double>? llama, TextWriter output)
    {
        double f = folio();
        string line = $"  {label} {what} warm-up (untimed): folio {f,9:F1} tok/s";
        if (llama is not null)
        {
            line += $", llama.cpp {llama(),9:F1} tok/s";
        }

        output.WriteLine(line);
    }

    /// <summary>
    /// Multiply-adds per token in the linear layers (q/k/v/o, MLP and lm_head): attention and norms
    /// excluded; a sparse layer counts its router and the experts a token runs (top-k, and the shared one).
    /// </summary>
    public static long LinearMacs(ModelConfig c)
    {
        long h = c.HiddenSize;
        long attention = (h * (c.QDim + (2L * c.KvDim))) + ((long)c.QDim * h);
        long sparse = (c.NumExperts * h) + (c.NumExpertsPerToken * 3L * h * c.ExpertIntermediateSize) + (c.SharedExpertIntermediateSize > 0 ? (3L * h * c.SharedExpertIntermediateSize) + h : 0);
        long layers = Enumerable.Range(0, c.NumLayers).Sum(l => attention + (c.IsSparseLayer(l) ? sparse : 3L * h * c.IntermediateSize));
        return layers + ((long)c.VocabSize * h);
    }

    /// <param name="profile">when given, the timed steps (not the prompt's prefill nor the warm-up step) are timed into it, phase by phase.</param>
    private static double FolioDecode(CpuModelRunner runner, int batch, int prompt, int steps, int blocksPerSeq, StepProfile? profile = null)
    {
        int vocab = runner.Config.VocabSize;
        var fb = new ForwardBatch(Math.Max(batch * prompt, batch), batch, blocksPerSeq);
        var logits = new float[batch * vocab];
        var tables = Enumerable.Range(0, batch).Select(s => Enumerable.Range(s * blocksPerSeq, blocksPerSeq).ToArray()).ToArray();
        var promptIds = new int[prompt];
        fb.Clear();
        for (int s = 0; s < batch; s++)
        {
            for (int p = 0; p < prompt; p++)
            {
                promptIds[p] = BenchTokens.At(s, p, vocab);
            }

            fb.AddSequence(promptIds, 0, tables[s], runner.BlockSize, wantLogits: true);
        }

        runner.Forward(fb, logits);
        var one = new int[1];
        long start = 0;
        double seconds;
        try
        {
            for (int step = -1; step < steps; step++)
            {
                // Step -1 is a warm-up (first use of the decode shapes), not timed.
                if (step == 0)
                {
                    runner.Profile = profile;
                    start = Stopwatch.GetTimestamp();
                }

                int pos = prompt + step + 1;
                fb.Clear();
                for (int s = 0; s < batch; s++)
                {
                    one[0] = BenchTokens.At(s, pos, vocab);
                    fb.AddSequence(one, pos, tables[s], runner.BlockSize, wantLogits: true);
                }

                runner.Forward(fb, logits);
            }

            seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        finally
        {
            // Even when a step throws: the profile must not go on timing other cases' steps.
            runner.Profile = null;
        }

        return batch * steps / seconds;
    }

    private static double FolioPrefill(CpuModelRunner runner, int tokens, int blocksPerSeq)
    {
        int vocab = runner.Config.VocabSize;
        var fb = new ForwardBatch(tokens, 1, blocksPerSeq);
        var logits = new float[vocab];
        var prompt = Enumerable.Range(0, tokens).Select(p => BenchTokens.At(0, p, vocab)).ToArray();
        var table = Enumerable.Range(0, blocksPerSeq).ToArray();
        fb.Clear();
        fb.AddSequence(prompt, 0, table, runner.BlockSize, wantLogits: true);
        long start = Stopwatch.GetTimestamp();
        runner.Forward(fb, logits);
        return tokens / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>This process's resident set (VmRSS), or 0 where /proc is not there.</summary>
    public static long ResidentBytes()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return 0;
        }

        foreach (string line in File.ReadLines(status))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public static void PrintTable(IReadOnlyList<CpuBenchRow> rows, MachineLimits limits, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(output);
        string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
        output.WriteLine($"| weights | case | Folio tok/s | llama.cpp tok/s | Folio / llama.cpp | weight MB read per token | GB/s | read bandwidth that round | share of it | share of {F(limits.ReadGBps, "F1")} GB/s | GFLOP/s or GOP/s | share of peak |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            string llama = r.Llama is { } l ? F(l, "F1") : "-";
            string ratio = r.Llama is { } lv && lv > 0 ? F(r.Folio / lv, "F2") + "x" : "-";
            double peak = r.Int8 ? limits.Int8Gops : limits.F32Gflops;
            string gbps = r.Prefill ? "-" : F(r.FolioGBps, "F1");
            string share = r.Prefill ? "-" : F(100 * r.FolioGBps / limits.ReadGBps, "F0") + "%";
            string round = r.Prefill || r.RoundReadGBps <= 0 ? "-" : F(r.RoundReadGBps, "F1");
            string roundShare = r.Prefill || r.RoundReadGBps <= 0 ? "-" : F(100 * r.FolioGBps / r.RoundReadGBps, "F0") + "%";
            string compute = F(r.FolioGflops, "F0") + (r.Int8 ? " GOP/s" : " GFLOP/s");
            string computeShare = peak > 0 ? F(100 * r.FolioGflops / peak, "F0") + "% of " + (r.Int8 ? "VNNI" : "FMA") : "-";
            output.WriteLine($"| {r.Weights} | {r.Case} | {F(r.Folio, "F1")} | {llama} | {ratio} | {F(r.BytesPerToken / 1e6, "F1")} | {gbps} | {round} | {roundShare} | {share} | {compute} | {computeShare} |");
        }
    }
}
