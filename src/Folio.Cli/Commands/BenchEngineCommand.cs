using Folio.Engine.Core;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Cli.Progress;
using Folio.Engine.Kv;
using Folio.Engine.Sampling;
using Folio.Engine;
using Folio.Models.Loading;
using Folio.Models;

using Folio.ModelTools;

namespace Folio.Cli.Commands;

/// <summary>
/// `folio bench engine`: the scheduler's three claims measured on the CPU backend in one process:
/// continuous against static batching on a fixed-seed mixed workload, KV memory held at peak (paged
/// against contiguous max-length allocation), and prefix caching's effect on time to first token.
/// </summary>
public sealed class BenchEngineCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH|demo|small", "model to run; small writes a synthetic Llama (dim 128, 2 layers, 4 heads / 2 KV heads, ffn 384, vocab 2048) to a temporary folder, so the bench runs in minutes on 2 cores", defaultValue: "small");
    private readonly FolioOption<int> _requests = CliOptions.Int("--requests", "N", "requests in the mixed workload", 200, min: 1);
    private readonly FolioOption<int> _promptMin = CliOptions.Int("--prompt-min", "N", "shortest prompt", 16, min: 1);
    private readonly FolioOption<int> _promptMax = CliOptions.Int("--prompt-max", "N", "longest prompt", 512, min: 1);
    private readonly FolioOption<int> _outputMin = CliOptions.Int("--output-min", "N", "shortest output", 16, min: 1);
    private readonly FolioOption<int> _outputMax = CliOptions.Int("--output-max", "N", "longest output", 256, min: 1);
    private readonly FolioOption<int> _kvSeqs = CliOptions.Int("--kv-seqs", "N", "KV budget expressed as N sequences of max length (prompt-max + output-max)", 16, min: 1);
    private readonly FolioOption<int> _prefixRequests = CliOptions.Int("--prefix-requests", "N", "requests sharing the prefix", 64, min: 1);
    private readonly FolioOption<int> _prefixTokens = CliOptions.Int("--prefix-tokens", "N", "shared prefix length", 512, min: 1);
    private readonly FolioOption<int> _seed = CliOptions.Int("--seed", "N", "workload seed", 1);
    private readonly FolioOption<bool> _skipStatic = CliOptions.Flag("--skip-static", "skip the static-batching runs");
    private readonly FolioOption<int> _repeat = CliOptions.Int("--repeat", "N", "rounds; every configuration runs once per round, interleaved, and the best round counts", 3, min: 1);
    private readonly EngineSetupOptions _engine = new(kvCacheMemory: false);

    public BenchEngineCommand()
        : base("bench engine", "continuous vs static batching, KV waste at peak, prefix-cache TTFT (CPU)")
    {
        Add(_model, _requests, _promptMin, _promptMax, _outputMin, _outputMax, _kvSeqs, _prefixRequests, _prefixTokens, _seed, _skipStatic, _repeat);
        Add(_engine);
    }

    public override IReadOnlyList<string> Notes =>
        ["The KV pool holds --kv-seqs sequences of max length unless --kv-cache-blocks says otherwise. Results are Markdown tables on stdout; each run's details go to stderr."];

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string modelPath = parse.GetValue(_model)!;
        int requests = parse.GetValue(_requests);
        int promptMin = parse.GetValue(_promptMin);
        int promptMax = parse.GetValue(_promptMax);
        int outputMin = parse.GetValue(_outputMin);
        int outputMax = parse.GetValue(_outputMax);
        int kvSeqs = parse.GetValue(_kvSeqs);
        int prefixRequests = parse.GetValue(_prefixRequests);
        int prefixTokens = parse.GetValue(_prefixTokens);
        int seed = parse.GetValue(_seed);
        bool skipStatic = parse.GetValue(_skipStatic);
        int repeat = parse.GetValue(_repeat);
        var setup = _engine.Read(parse);
        if (promptMax < promptMin || outputMax < outputMin)
        {
            throw Usage($"lengths must satisfy min <= max; got --prompt-min {promptMin} --prompt-max {promptMax} --output-min {outputMin} --output-max {outputMax}");
        }

        using var model = LoadModel(modelPath);
        return Task.FromResult(context.WithProgress("bench engine", progress => Run(progress, model, setup, requests, promptMin, promptMax, outputMin, outputMax, kvSeqs, prefixRequests, prefixTokens, seed, skipStatic, repeat, cancellationToken)));
    }

    private static int Run(IProgressDisplay progress, LoadedModel model, EngineCliSetup setup, int requests, int promptMin, int promptMax, int outputMin, int outputMax, int kvSeqs, int prefixRequests, int prefixTokens, int seed, bool skipStatic, int repeat, CancellationToken cancellationToken)
    {
        int maxLen = promptMax + outputMax;
        int blocksPerSeq = (maxLen + setup.BlockSize - 1) / setup.BlockSize;

        // The watermark keeps 1% of blocks back at admission; add it so that static batching fits exactly kvSeqs.
        int kvBlocks = setup.KvBlocks ?? (int)Math.Ceiling(kvSeqs * blocksPerSeq / 0.99) + 1;
        long kvBytes = kvBlocks * KvCacheSizing.BytesPerBlock(model.Config, setup.BlockSize);
        var options = setup.Options with { MaxModelLen = maxLen };
        progress.WriteLine($"model {model.Source}: dim {model.Config.HiddenSize}, {model.Config.NumLayers} layers, vocab {model.Config.VocabSize}; {setup.Threads} threads");
        progress.WriteLine($"KV pool: {kvBlocks} blocks of {setup.BlockSize} tokens = {kvBlocks * setup.BlockSize} tokens ({ByteSize.Format(kvBytes)}); max_num_seqs {options.MaxNumSeqs}, max_num_batched_tokens {options.MaxNumBatchedTokens}");

        var rng = new Random(seed);
        var workload = Enumerable.Range(0, requests).Select(i =>
        {
            int p = rng.Next(promptMin, promptMax + 1);
            int o = rng.Next(outputMin, outputMax + 1);
            int[] ids = [.. Enumerable.Range(0, p).Select(_ => rng.Next(0, model.Config.VocabSize))];
            return new EngineRequest(new RequestKey(i), ids, new SamplingParams { Temperature = 0, MaxTokens = o, IgnoreEos = true });
        }).ToList();
        long generated = workload.Sum(r => (long)r.Params.MaxTokens);
        long promptTokens = workload.Sum(r => (long)r.PromptTokenIds.Count);
        progress.WriteLine($"workload: {requests} requests (seed {seed}), prompts {promptMin}-{promptMax} ({promptTokens} tokens), outputs {outputMin}-{outputMax} ({generated} tokens)");
        progress.WriteLine(string.Empty);

        // The continuous run keeps the engine's default prefix caching: the random prompts share
        // nothing, so its only hits are preempted sequences finding their own freed blocks (which is
        // how recompute stays cheap). The static runs have it off: static systems have none, and the
        // padded prompts would otherwise share their padding.
        int contiguousSeqs = Math.Max(1, (kvBlocks - (int)(kvBlocks * options.WatermarkFraction)) / blocksPerSeq);

        // Static batching as request-level systems (e.g. HF generate) run it: batches of as many
        // requests as the budget holds at max length, prompts left-padded to the batch's longest
        // (token 0 stands in for the pad: the compute is a padded batch's, the mask aside), every row
        // decoded until the batch's longest output is done, the next batch only after. Only the
        // tokens each request asked for count as throughput.
        var padded = workload.Select((r, i) =>
        {
            var batch = workload.Skip(i / contiguousSeqs * contiguousSeqs).Take(contiguousSeqs).ToList();
            int longestPrompt = batch.Max(x => x.PromptTokenIds.Count);
            int[] ids = [.. Enumerable.Repeat(0, longestPrompt - r.PromptTokenIds.Count), .. r.PromptTokenIds];
            return r with { PromptTokenIds = ids, Params = r.Params with { MaxTokens = batch.Max(x => x.Params.MaxTokens) } };
        }).ToList();
        var configs = new List<(string Name, EngineConfig Options, List<EngineRequest> Work)>
        {
            ("continuous batching", options, workload),
        };
        if (!skipStatic)
        {
            configs.Add(("static batching (padded rows)", options with { StaticBatching = true, EnablePrefixCaching = false }, padded));

            // A kinder baseline: the same batches, but a finished row leaves and costs nothing.
            configs.Add(("static batching (finished rows dropped)", options with { StaticBatching = true, EnablePrefixCaching = false }, workload));
        }

        // The machine may be shared: configurations run interleaved, best of --repeat rounds each.
        var runs = progress.AddTask("workload runs", (configs.Count + 2) * repeat);
        var best = new RunStats?[configs.Count];
        for (int round = 0; round < repeat; round++)
        {
            for (int c = 0; c < configs.Count; c++)
            {
                var stats = RunWorkload(progress, model, setup, configs[c].Options, kvBlocks, configs[c].Work, $"{configs[c].Name}, round {round + 1}", cancellationToken);
                runs.Advance(description: $"{configs[c].Name}, round {round + 1}");
                if (best[c] is null || stats.Seconds < best[c]!.Seconds)
                {
                    best[c] = stats;
                }
            }
        }

        var continuous = best[0]!;
        var rows = configs.Select((c, i) => Row(c.Name, best[i]!, generated)).ToList();
        double? ratio = skipStatic ? null : best[1]!.Seconds / continuous.Seconds;
        double? cpuRatio = skipStatic ? null : best[1]!.CpuSeconds / continuous.CpuSeconds;
        double? ratioDropped = skipStatic ? null : best[2]!.Seconds / continuous.Seconds;
        double? cpuRatioDropped = skipStatic ? null : best[2]!.CpuSeconds / continuous.CpuSeconds;

        progress.WriteLine("| batching | wall s | output tok/s (wall) | CPU s | output tok per CPU s | tokens computed | peak concurrent seqs | steps | preemptions |");
        progress.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            progress.WriteLine($"| {string.Join(" | ", r)} |");
        }

        if (ratio is { } x)
        {
            progress.WriteLine($"continuous / static (padded rows) throughput: {x:F2}x wall, {cpuRatio:F2}x per CPU second (floor 2x) {(x >= 2 ? "PASS" : "BELOW FLOOR")}");
            progress.WriteLine($"continuous / static (finished rows dropped) throughput: {ratioDropped:F2}x wall, {cpuRatioDropped:F2}x per CPU second");
        }

        progress.WriteLine(string.Empty);
        double pagedWaste = 1 - ((double)continuous.PeakHeldTokens / (continuous.PeakBlocks * setup.BlockSize));
        double contiguousWaste = 1 - ((double)continuous.PeakHeldTokens / ((long)continuous.PeakRunningAtPeakBlocks * maxLen));
        progress.WriteLine("| KV allocation at peak | tokens held | tokens reserved | waste | sequences in the budget |");
        progress.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        progress.WriteLine($"| paged (block {setup.BlockSize}) | {continuous.PeakHeldTokens} | {continuous.PeakBlocks * setup.BlockSize} | {pagedWaste:P2} | {continuous.PeakRunning} (observed peak) |");
        progress.WriteLine($"| contiguous max-length ({maxLen}) | {continuous.PeakHeldTokens} | {(long)continuous.PeakRunningAtPeakBlocks * maxLen} | {contiguousWaste:P2} | {contiguousSeqs} |");
        progress.WriteLine($"paged waste at peak: {pagedWaste:P2} (ceiling 4%) {(pagedWaste <= 0.04 ? "PASS" : "ABOVE CEILING")}; sequences per budget paged/contiguous: {(double)continuous.PeakRunning / Math.Max(1, contiguousSeqs):F2}x");
        progress.WriteLine(string.Empty);

        var prefix = PrefixWorkload(model.Config.VocabSize, prefixRequests, prefixTokens, seed);
        int prefixBlocks = Math.Max(kvBlocks, (prefixRequests * (prefixTokens + 32) / setup.BlockSize) + 64);
        RunStats? noCache = null, withCache = null;
        for (int round = 0; round < repeat; round++)
        {
            var off = RunWorkload(progress, model, setup, options with { EnablePrefixCaching = false, MaxModelLen = null }, prefixBlocks, prefix, $"prefix, cache off, round {round + 1}", cancellationToken);
            var on = RunWorkload(progress, model, setup, options with { EnablePrefixCaching = true, MaxModelLen = null }, prefixBlocks, prefix, $"prefix, cache on, round {round + 1}", cancellationToken);
            noCache = noCache is null || off.MeanTtftMs < noCache.MeanTtftMs ? off : noCache;
            withCache = withCache is null || on.MeanTtftMs < withCache.MeanTtftMs ? on : withCache;
            runs.Advance(2, $"prefix caching, round {round + 1}");
        }

        runs.Complete();

        progress.WriteLine($"| prefix caching ({prefixRequests} requests, {prefixTokens}-token shared prefix) | mean TTFT ms | p50 TTFT ms | max TTFT ms | cached tokens |");
        progress.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        progress.WriteLine($"| without | {noCache!.MeanTtftMs:F1} | {noCache.P50TtftMs:F1} | {noCache.MaxTtftMs:F1} | {noCache.CachedTokens} |");
        progress.WriteLine($"| with | {withCache!.MeanTtftMs:F1} | {withCache.P50TtftMs:F1} | {withCache.MaxTtftMs:F1} | {withCache.CachedTokens} |");
        double ttftRatio = noCache.MeanTtftMs / withCache.MeanTtftMs;
        progress.WriteLine($"mean TTFT without / with prefix cache: {ttftRatio:F2}x (floor 3x) {(ttftRatio >= 3 ? "PASS" : "BELOW FLOOR")}");
        return ExitCodes.Success;
    }

    private static LoadedModel LoadModel(string path)
    {
        if (path != "small")
        {
            return ModelLoader.Load(path);
        }

        var o = new TestModelOptions { Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 384, Vocab = 2048, MaxPositions = 4096, Seed = 7 };
        string dir = Path.Combine(Path.GetTempPath(), "folio-bench-engine-small-v1");
        if (!File.Exists(Path.Combine(dir, "config.json")))
        {
            string tmp = dir + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            TestModelWriter.Write(tmp, TestModelFormat.HuggingFace, o);
            try
            {
                Directory.Move(tmp, dir);
            }
            catch (IOException)
            {
                // Another bench wrote it first.
            }
        }

        return ModelLoader.Load(dir);
    }

    private static List<EngineRequest> PrefixWorkload(int vocab, int n, int prefixTokens, int seed)
    {
        var rng = new Random(seed + 1000);
        int[] prefix = [.. Enumerable.Range(0, prefixTokens).Select(_ => rng.Next(0, vocab))];
        return [.. Enumerable.Range(0, n).Select(i =>
        {
            int[] ids = [.. prefix, .. Enumerable.Range(0, 16).Select(_ => rng.Next(0, vocab))];
            return new EngineRequest(new RequestKey(i), ids, new SamplingParams { Temperature = 0, MaxTokens = 1, IgnoreEos = true });
        })];
    }

    private sealed record RunStats(double CpuSeconds, double Seconds, long Steps, long Preemptions, int PeakRunning, int PeakBlocks, long PeakHeldTokens, int PeakRunningAtPeakBlocks, double MeanTtftMs, double P50TtftMs, double MaxTtftMs, long CachedTokens, long ComputedTokens);

    private static RunStats RunWorkload(IProgressDisplay progress, LoadedModel model, EngineCliSetup setup, EngineConfig options, int kvBlocks, List<EngineRequest> workload, string label, CancellationToken ct)
    {
        using var runner = setup.CreateRunner(model, kvBlocks);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, model.Tokenizer, options, sink);
        var clock = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        foreach (var r in workload)
        {
            engine.AddRequest(r with { ArrivalTimestamp = Stopwatch.GetTimestamp() });
        }

        int peakRunning = 0, peakBlocks = 0, runningAtPeak = 0;
        long heldAtPeak = 0;
        while (engine.HasWork)
        {
            ct.ThrowIfCancellationRequested();
            engine.Step();
            var m = engine.Metrics;
            peakRunning = Math.Max(peakRunning, m.Running);
            if (m.KvBlocksUsed > peakBlocks)
            {
                peakBlocks = m.KvBlocksUsed;
                heldAtPeak = m.KvTokensHeld;
                runningAtPeak = m.Running;
            }
        }

        double seconds = clock.Elapsed.TotalSeconds;
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        var finished = sink.Snapshot().Where(o => o.Finished).ToList();
        if (finished.Count != workload.Count || finished.Any(o => o.FinishReason != FinishReason.Length))
        {
            throw new InvalidOperationException($"{label}: {finished.Count} of {workload.Count} requests finished, reasons {string.Join(",", finished.Select(o => o.FinishReason).Distinct())}");
        }

        var ttft = finished.Select(o => o.TimeToFirstTokenMs ?? 0).Order().ToArray();
        var metrics = engine.Metrics;
        progress.Note($"  {label}: {seconds:F1} s wall ({metrics.ModelSeconds:F1} s in the model), {cpuSeconds:F1} s CPU, {metrics.Steps} steps, {metrics.ComputedTokens} tokens computed, {metrics.Preemptions} preemptions");
        return new RunStats(cpuSeconds, seconds, metrics.Steps, metrics.Preemptions, peakRunning, peakBlocks, heldAtPeak, runningAtPeak, ttft.Average(), ttft[ttft.Length / 2], ttft[^1], finished.Sum(o => (long)o.Usage.CachedTokens), metrics.ComputedTokens);
    }

    private static string[] Row(string name, RunStats r, long generated) =>
    [
        name,
        r.Seconds.ToString("F1", CultureInfo.InvariantCulture),
        (generated / r.Seconds).ToString("F0", CultureInfo.InvariantCulture),
        r.CpuSeconds.ToString("F1", CultureInfo.InvariantCulture),
        (generated / r.CpuSeconds).ToString("F0", CultureInfo.InvariantCulture),
        r.ComputedTokens.ToString(CultureInfo.InvariantCulture),
        r.PeakRunning.ToString(CultureInfo.InvariantCulture),
        r.Steps.ToString(CultureInfo.InvariantCulture),
        r.Preemptions.ToString(CultureInfo.InvariantCulture),
    ];
}
