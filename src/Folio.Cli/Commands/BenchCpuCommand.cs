using System.Diagnostics;
using System.Globalization;
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
public sealed class BenchCpuCommand : ICliCommand
{
    public string Name => "bench cpu";

    public string Summary => "decode tokens/s of Folio's CPU backend and llama.cpp on the same GGUF";

    public string Usage => """
        usage: folio bench cpu --model PATH.gguf [--threads N] [--batches 8,32,64] [--prompt-tokens 32]
                               [--decode-steps 128] [--rounds 3] [--skip-llama]
          --model          a GGUF file (f32 for the comparison issue 2 asks for) that llama.cpp can load
          --threads        compute threads for both engines (default: all cores)
          --batches        batch sizes to measure besides single-sequence decode (default 8,32,64)
          --prompt-tokens  tokens prefilled per sequence before timing (default 32)
          --decode-steps   timed decode steps per case (default 128 single, a quarter of that for batches)
          --rounds         measurements per case and engine, alternating; the best is reported (default 3)
          --skip-llama     measure Folio only
        """;

    public Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        string path = args.RequireString("model");
        int threads = args.Int("threads", Environment.ProcessorCount);
        int[] batches = args.IntList("batches") ?? [8, 32, 64];
        int promptTokens = args.Int("prompt-tokens", 32);
        int decodeSteps = args.Int("decode-steps", 128);
        bool skipLlama = args.Flag("skip-llama");
        int rounds = args.Int("rounds", 3);
        args.RejectUnknown();
        if (threads < 1 || rounds < 1 || promptTokens < 1 || decodeSteps < 1 || batches.Any(b => b < 1))
        {
            throw new CliUsageException("--threads, --rounds, --batches, --prompt-tokens and --decode-steps must be positive");
        }

        var cases = new List<int> { 1 };
        cases.AddRange(batches.Where(b => b > 1));
        using var model = ModelLoader.Load(path);
        var c = model.Config;
        Console.WriteLine($"model: {path}: hidden {c.HiddenSize}, layers {c.NumLayers}, heads {c.NumHeads}/{c.NumKvHeads} kv, head_dim {c.HeadDim}, ffn {c.IntermediateSize}, vocab {c.VocabSize}, {ParameterCount(c) / 1e6:F1}M parameters, tied {c.TieWordEmbeddings}");
        Console.WriteLine($"threads: {threads}; prompt {promptTokens} tokens per sequence; decode steps {decodeSteps} (single), {Steps(2, decodeSteps)} (batched); best of {rounds} rounds");

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

                    Console.WriteLine(line);
                }
            }
        }
        finally
        {
            weights?.Dispose();
        }

        Console.WriteLine();
        Console.WriteLine("| case | Folio tok/s | llama.cpp tok/s | Folio / llama.cpp |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (int b in cases)
        {
            string name = b == 1 ? "single-sequence decode" : $"batched decode, batch {b}";
            string l = llama.TryGetValue(b, out double lv) ? lv.ToString("F1", CultureInfo.InvariantCulture) : "-";
            string ratio = llama.TryGetValue(b, out lv) ? (folio[b] / lv).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";
            Console.WriteLine($"| {name} | {folio[b].ToString("F1", CultureInfo.InvariantCulture)} | {l} | {ratio} |");
        }

        return Task.FromResult(0);
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
