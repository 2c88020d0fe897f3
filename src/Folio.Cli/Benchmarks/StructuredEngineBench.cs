using System.Diagnostics;
using System.Globalization;
using Folio.Cli.Options;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Engine.Constraints;
using Folio.Engine.Sampling;
using Folio.Models;

namespace Folio.Cli.Benchmarks;

/// <summary>What <see cref="StructuredEngineBench"/> runs.</summary>
internal sealed record StructuredEngineBenchOptions(int Batch, int Requests, int PromptTokens, int MaxTokens, int Repeat, int Seed);

/// <summary>
/// The end-to-end cost of constrained decoding in the engine: the same workload (prompts, seeds,
/// temperature 1) with every request constrained by the schema and with none, interleaved over
/// rounds (best round counts, the machine may be shared). The figure that matters is decode
/// throughput while the batch is full: steps in which exactly <c>Batch</c> sequences each computed
/// one token, so neither prefill nor a ragged tail (constrained requests end when their JSON does)
/// enters the ratio. Whole-run throughput is printed beside it.
/// </summary>
internal static class StructuredEngineBench
{
    public const double RatioGoal = 0.95;
    public const double RatioFloor = 0.85;

    public static bool Run(LoadedModel model, EngineCliSetup setup, ConstraintSpec spec, StructuredEngineBenchOptions o, TextWriter output, CancellationToken ct)
    {
        var constraint = ConstraintCompiler.Compile(spec, model.Tokenizer);
        var rng = new Random(o.Seed);
        var prompts = Enumerable.Range(0, o.Requests)
            .Select(_ => Enumerable.Range(0, o.PromptTokens).Select(_ => rng.Next(0, model.Config.VocabSize)).ToArray())
            .ToArray();
        var options = setup.Options with { MaxNumSeqs = o.Batch };
        int blocksPerSeq = ((o.PromptTokens + o.MaxTokens) / setup.BlockSize) + 2;
        int blocks = (o.Batch * blocksPerSeq * 2) + 16;

        output.WriteLine();
        output.WriteLine($"## engine: {model.Source}, batch {o.Batch}, {o.Requests} requests of {o.PromptTokens} prompt tokens, up to {o.MaxTokens} output tokens, temperature 1, {setup.Threads} threads");
        Pass? free = null, constrained = null;

        // Round 0 warms the JIT and builds the constraint's position masks; it is not counted.
        for (int round = 0; round <= o.Repeat; round++)
        {
            var f = RunOnce(model, setup, options, blocks, prompts, o, null, ct);
            var c = RunOnce(model, setup, options, blocks, prompts, o, constraint, ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}{(round == 0 ? " (warm-up)" : string.Empty)}: free {f.FullBatchTokensPerSecond:F1} tok/s at full batch, constrained {c.FullBatchTokensPerSecond:F1}"));
            if (round == 0)
            {
                continue;
            }

            free = free is null || f.FullBatchTokensPerSecond > free.FullBatchTokensPerSecond ? f : free;
            constrained = constrained is null || c.FullBatchTokensPerSecond > constrained.FullBatchTokensPerSecond ? c : constrained;
        }

        output.WriteLine();
        output.WriteLine($"| requests | tokens | wall s | tok/s (whole run) | full-batch steps | tok/s at batch {o.Batch} | finish reasons |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
        output.WriteLine(free!.Row("free text"));
        output.WriteLine(constrained!.Row("JSON schema"));
        double ratio = constrained.FullBatchTokensPerSecond / free.FullBatchTokensPerSecond;
        string verdict = ratio >= RatioGoal ? "meets the goal" : ratio >= RatioFloor ? "above the floor, below the goal" : "BELOW THE FLOOR";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"constrained / free decode throughput at batch {o.Batch}: {ratio:F3} (goal >= {RatioGoal}, floor {RatioFloor}: {verdict}); whole run {constrained.TokensPerSecond / free.TokensPerSecond:F3}"));
        return ratio >= RatioFloor;
    }

    private static Pass RunOnce(LoadedModel model, EngineCliSetup setup, EngineConfig options, int blocks, int[][] prompts, StructuredEngineBenchOptions o, CompiledConstraint? constraint, CancellationToken ct)
    {
        using var runner = setup.CreateRunner(model, blocks);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, model.Tokenizer, options, sink);
        for (int i = 0; i < prompts.Length; i++)
        {
            var sampling = new SamplingParams { Temperature = 1, MaxTokens = o.MaxTokens, Seed = o.Seed + i, IgnoreEos = constraint is null };
            engine.AddRequest(new EngineRequest(new RequestKey(i), prompts[i], sampling) { Constraint = constraint, ArrivalTimestamp = Stopwatch.GetTimestamp() });
        }

        var clock = Stopwatch.StartNew();
        long fullBatchTicks = 0, fullBatchTokens = 0, fullBatchSteps = 0;
        while (engine.HasWork)
        {
            ct.ThrowIfCancellationRequested();
            int runningBefore = engine.Metrics.Running;
            long computedBefore = engine.Metrics.ComputedTokens;
            long start = Stopwatch.GetTimestamp();
            engine.Step();
            long ticks = Stopwatch.GetTimestamp() - start;
            long computed = engine.Metrics.ComputedTokens - computedBefore;
            if (runningBefore == o.Batch && computed == o.Batch)
            {
                fullBatchTicks += ticks;
                fullBatchTokens += computed;
                fullBatchSteps++;
            }
        }

        double seconds = clock.Elapsed.TotalSeconds;
        var finished = sink.Snapshot().Where(x => x.Finished).ToList();
        if (finished.Count != prompts.Length || finished.Any(x => x.FinishReason is FinishReason.Error))
        {
            string errors = string.Join("; ", finished.Where(x => x.ErrorMessage is not null).Select(x => x.ErrorMessage).Distinct().Take(3));
            throw new InvalidOperationException($"bench structured: {finished.Count} of {prompts.Length} requests finished without error ({errors})");
        }

        long tokens = finished.Sum(x => (long)x.Usage.CompletionTokens);
        string reasons = string.Join(", ", finished.GroupBy(x => x.FinishReason).OrderBy(g => g.Key).Select(g => $"{g.Key?.ToString().ToLowerInvariant()} {g.Count()}"));
        return new Pass(tokens, seconds, fullBatchSteps, fullBatchTokens, (double)fullBatchTicks / Stopwatch.Frequency, reasons);
    }

    private sealed record Pass(long Tokens, double Seconds, long FullBatchSteps, long FullBatchTokens, double FullBatchSeconds, string FinishReasons)
    {
        public double TokensPerSecond => Tokens / Seconds;

        public double FullBatchTokensPerSecond => FullBatchSeconds == 0 ? 0 : FullBatchTokens / FullBatchSeconds;

        public string Row(string name) => string.Create(
            CultureInfo.InvariantCulture,
            $"| {name} | {Tokens} | {Seconds:F1} | {TokensPerSecond:F1} | {FullBatchSteps} | {FullBatchTokensPerSecond:F1} | {FinishReasons} |");
    }
}
