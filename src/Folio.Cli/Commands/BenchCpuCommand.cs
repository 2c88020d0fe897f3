using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Cpu;
using Folio.Engine.Execution;
using Folio.Models.Loading;
using LLama.Common;
using LLama.Native;
using LLama;

namespace Folio.Cli.Commands;

/// <summary>
/// `folio bench cpu`: Folio's CPU backend against llama.cpp (LLamaSharp) on the same f32 GGUF and
/// thread count, in one process run: decode tokens/s for one sequence and for batches. Both sides
/// get the same prompt and the same fixed input token at every step (no sampling), and llama.cpp
/// runs in its best CPU configuration (flash attention on, f16 K/V).
/// </summary>
public sealed class BenchCpuCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH.gguf", "a GGUF file (f32 for the comparison issue 2 asks for) that llama.cpp can load");
    private readonly FolioOption<int?> _threads = SharedOptions.Threads("compute threads for both engines");
    private readonly FolioOption<int[]?> _batches = CliOptions.IntList("--batches", "LIST", "batch sizes to measure besides single-sequence decode", [8, 32, 64], min: 1);
    private readonly FolioOption<int> _promptTokens = CliOptions.Int("--prompt-tokens", "N", "tokens prefilled per sequence before timing", 32, min: 1);
    private readonly FolioOption<int> _decodeSteps = CliOptions.Int("--decode-steps", "N", "timed decode steps of single-sequence decode; a quarter of that for batches", 128, min: 1);
    private readonly FolioOption<int> _repeat = CliOptions.Int("--repeat", "N", "measurements per case and engine, alternating; the best is reported", 3, min: 1, oldSpellings: "--rounds");
    private readonly FolioOption<bool> _skipLlama = CliOptions.Flag("--skip-llama", "measure Folio only");

    public BenchCpuCommand()
        : base("bench cpu", "decode tokens/s of Folio's CPU backend and llama.cpp on the same GGUF")
    {
        Add(_model, _threads, _batches, _promptTokens, _decodeSteps, _repeat, _skipLlama);
    }

    public override string Synopsis => "--model PATH.gguf [options]";

    public override IReadOnlyList<string> Notes =>
        ["Both sides get the same prompt and the same fixed input token at every step (no sampling); llama.cpp runs in its best CPU configuration (flash attention on, f16 K/V). The result is a Markdown table on stdout."];

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string path = parse.GetValue(_model)!;
        int threads = SharedOptions.ThreadsOrAllCores(parse.GetValue(_threads));
        int[] batches = parse.GetValue(_batches)!;
        int promptTokens = parse.GetValue(_promptTokens);
        int decodeSteps = parse.GetValue(_decodeSteps);
        bool skipLlama = parse.GetValue(_skipLlama);
        int rounds = parse.GetValue(_repeat);

        var cases = new List<int> { 1 };
        cases.AddRange(batches.Where(b => b > 1).Distinct());
        using var model = ModelLoader.Load(path);
        var c = model.Config;
        var output = context.Out;
        output.WriteLine($"model: {path}: hidden {c.HiddenSize}, layers {c.NumLayers}, heads {c.NumHeads}/{c.NumKvHeads} kv, head_dim {c.HeadDim}, ffn {c.IntermediateSize}, vocab {c.VocabSize}, {ParameterCount(c) / 1e6:F1}M parameters, tied {c.TieWordEmbeddings}");
        output.WriteLine($"threads: {threads}; prompt {promptTokens} tokens per sequence; decode steps {decodeSteps} (single), {Steps(2, decodeSteps)} (batched); best of {rounds} rounds");

        // Both engines stay loaded and take turns case by case, round by round, so that a noisy
        // neighbour on the machine hits both alike; each side's best round is reported.
        var folio = cases.ToDictionary(b => b, _ => 0.0);
        var llama = new Dictionary<int, double>();
        int maxBatch = cases.Max();
        int blockSize = 16;
        int blocksPerSeq = (promptTokens + decodeSteps + 1 + blockSize - 1) / blockSize;
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = maxBatch * blocksPerSeq, BlockSize = blockSize, Threads = threads });
        LLamaWeights? weights = null;
        if (!skipLlama)
        {
            NativeLibraryConfig.All.WithLogCallback((_, _) => { });
            weights = LLamaWeights.LoadFromFile(new ModelParams(path) { GpuLayerCount = 0, Threads = threads, BatchThreads = threads });
            foreach (int b in cases)
            {
                llama[b] = 0;
            }
        }

        try
        {
            context.WithProgress("bench cpu", progress =>
            {
                var task = progress.AddTask("decode rounds", cases.Count * rounds);
                foreach (int b in cases)
                {
                    for (int round = 0; round < rounds; round++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        double f = FolioDecode(runner, b, promptTokens, Steps(b, decodeSteps), blocksPerSeq);
                        folio[b] = Math.Max(folio[b], f);
                        string line = $"  batch {b,3} round {round + 1}: folio {f,9:F1} tok/s";
                        if (weights is not null)
                        {
                            double l = LlamaDecode(weights, path, threads, b, promptTokens, Steps(b, decodeSteps), c.VocabSize);
                            llama[b] = Math.Max(llama[b], l);
                            line += $", llama.cpp {l,9:F1} tok/s";
                        }

                        progress.WriteLine(line);
                        task.Advance(description: $"batch {b} round {round + 1}");
                    }
                }

                task.Complete();
                return 0;
            });
        }
        finally
        {
            weights?.Dispose();
        }

        output.WriteLine();
        output.WriteLine("| case | Folio tok/s | llama.cpp tok/s | Folio / llama.cpp |");
        output.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (int b in cases)
        {
            string name = b == 1 ? "single-sequence decode" : $"batched decode, batch {b}";
            string l = llama.TryGetValue(b, out double lv) ? lv.ToString("F1", CultureInfo.InvariantCulture) : "-";
            string ratio = llama.TryGetValue(b, out lv) ? (folio[b] / lv).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";
            output.WriteLine($"| {name} | {folio[b].ToString("F1", CultureInfo.InvariantCulture)} | {l} | {ratio} |");
        }

        return Task.FromResult(ExitCodes.Success);
    }

    private static int Steps(int batch, int decodeSteps) => batch == 1 ? decodeSteps : Math.Max(1, decodeSteps / 4);

    /// <summary>The input token of sequence s at position p: fixed, the same for both engines.</summary>
    private static int TokenAt(int s, int p, int vocab) => (int)(((s * 7919L) + (p * 104729L) + 13) % vocab);

    private static double FolioDecode(CpuModelRunner runner, int batch, int prompt, int steps, int blocksPerSeq)
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
                promptIds[p] = TokenAt(s, p, vocab);
            }

            fb.AddSequence(promptIds, 0, tables[s], runner.BlockSize, wantLogits: true);
        }

        runner.Forward(fb, logits);
        var one = new int[1];
        long start = 0;
        for (int step = -1; step < steps; step++)
        {
            // Step -1 is a warm-up (first use of the decode shapes), not timed.
            if (step == 0)
            {
                start = Stopwatch.GetTimestamp();
            }

            int pos = prompt + step + 1;
            fb.Clear();
            for (int s = 0; s < batch; s++)
            {
                one[0] = TokenAt(s, pos, vocab);
                fb.AddSequence(one, pos, tables[s], runner.BlockSize, wantLogits: true);
            }

            runner.Forward(fb, logits);
        }

        return batch * steps / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static double LlamaDecode(LLamaWeights weights, string path, int threads, int batch, int prompt, int steps, int vocab)
    {
        int perSeq = prompt + steps + 2;
        var cp = new ModelParams(path)
        {
            ContextSize = (uint)(batch * perSeq),
            SeqMax = (uint)batch,
            BatchSize = (uint)Math.Max(batch * prompt, 512),
            UBatchSize = (uint)Math.Max(batch * prompt, 512),
            Threads = threads,
            BatchThreads = threads,
            FlashAttention = true,
            TypeK = GGMLType.GGML_TYPE_F16,
            TypeV = GGMLType.GGML_TYPE_F16,
        };
        using var ctx = weights.CreateContext(cp);
        var lb = new LLamaBatch();
        for (int s = 0; s < batch; s++)
        {
            for (int p = 0; p < prompt; p++)
            {
                lb.Add(TokenAt(s, p, vocab), p, (LLamaSeqId)s, p == prompt - 1);
            }
        }

        Check(ctx.Decode(lb), "prefill");
        long start = 0;
        for (int step = -1; step < steps; step++)
        {
            if (step == 0)
            {
                start = Stopwatch.GetTimestamp();
            }

            int pos = prompt + step + 1;
            lb.Clear();
            for (int s = 0; s < batch; s++)
            {
                lb.Add(TokenAt(s, pos, vocab), pos, (LLamaSeqId)s, true);
            }

            Check(ctx.Decode(lb), "decode");
        }

        return batch * steps / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static void Check(DecodeResult r, string what)
    {
        if (r != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama.cpp {what} failed: {r}");
        }
    }

    private static long ParameterCount(Folio.Models.ModelConfig c)
    {
        long perLayer = ((long)c.HiddenSize * (c.QDim + (2 * c.KvDim))) + ((long)c.QDim * c.HiddenSize) + (3L * c.HiddenSize * c.IntermediateSize) + (2L * c.HiddenSize);
        long embed = (long)c.VocabSize * c.HiddenSize;
        return (perLayer * c.NumLayers) + embed + (c.TieWordEmbeddings ? 0 : embed) + c.HiddenSize;
    }
}
