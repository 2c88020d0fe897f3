using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Folio.Cpu.Tests.Support;

/// <summary>
/// Folio's CPU runner and llama.cpp (LLamaSharp, flash attention off, f32 K/V) on the same GGUF file:
/// every prompt position's logits, and a greedy continuation, from each side. The checks live in the
/// test classes; this only runs both engines the same way.
/// </summary>
internal static class LlamaCppOracle
{
    public static ModelParams Params(string path) => new(path)
    {
        GpuLayerCount = 0,
        ContextSize = 128,
        BatchSize = 64,
        UBatchSize = 64,
        Threads = 2,
        BatchThreads = 2,
        FlashAttention = false,
        TypeK = GGMLType.GGML_TYPE_F32,
        TypeV = GGMLType.GGML_TYPE_F32,
    };

    public static int[] Prompt(int vocab, int length)
    {
        var rng = new Random(vocab);
        return Enumerable.Range(0, length).Select(_ => rng.Next(vocab)).ToArray();
    }

    /// <summary>Folio's logits at every prompt position.</summary>
    public static float[][] FolioPromptLogits(string path, int[] prompt, bool ggmlGelu = false)
    {
        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, GgmlF16Gelu = ggmlGelu });
        return new BatchDriver(runner).RunAlone(new TestSequence(prompt, [0, 1, 2, 3]), prompt.Length);
    }

    /// <summary>llama.cpp's logits at every prompt position, all in one batch.</summary>
    public static float[][] LlamaPromptLogits(string path, int[] prompt, int vocab)
    {
        using var weights = LoadWeights(path);
        using var context = weights.CreateContext(Params(path));
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, true);
        }

        Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
        var rows = new float[prompt.Length][];
        for (int i = 0; i < prompt.Length; i++)
        {
            rows[i] = context.NativeHandle.GetLogitsIth(i).ToArray();
            Assert.Equal(vocab, rows[i].Length);
        }

        return rows;
    }

    /// <summary>Folio's greedy continuation (prompt prefilled at once, then one token a step), with the smallest top-2 gap seen.</summary>
    public static (List<int> Tokens, double SmallestGap) FolioGreedy(string path, int[] prompt, int count, bool ggmlGelu = false)
    {
        var tokens = new int[prompt.Length + count];
        prompt.CopyTo(tokens, 0);
        using var model = ModelLoader.Load(path);
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 8, BlockSize = 16, Threads = 2, GgmlF16Gelu = ggmlGelu });
        var driver = new BatchDriver(runner);
        var seq = new TestSequence(tokens, [3, 0, 5, 1]);
        var logits = driver.Step(new StepPart(seq, prompt.Length))[0][0];
        var result = new List<int>();
        double gap = double.MaxValue;
        for (int i = 0; i < count; i++)
        {
            int next = ArgMax(logits);
            result.Add(next);
            var top = logits.OrderByDescending(x => x).Take(2).ToArray();
            gap = Math.Min(gap, top[0] - top[1]);
            if (i + 1 < count)
            {
                tokens[prompt.Length + i] = next;
                logits = driver.Step(new StepPart(seq, 1))[0][0];
            }
        }

        return (result, gap);
    }

    /// <summary>llama.cpp's greedy continuation, decoded the same way.</summary>
    public static List<int> LlamaGreedy(string path, int[] prompt, int count)
    {
        using var weights = LoadWeights(path);
        using var context = weights.CreateContext(Params(path));
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        }

        var result = new List<int>();
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
            int next = ArgMax(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            result.Add(next);
            batch.Clear();
            batch.Add(next, prompt.Length + i, LLamaSeqId.Zero, true);
        }

        return result;
    }

    /// <summary>Loads the file in llama.cpp; when it refuses, the failure carries llama.cpp's own log lines (why it refused).</summary>
    private static LLamaWeights LoadWeights(string path)
    {
        try
        {
            return LLamaWeights.LoadFromFile(Params(path));
        }
        catch (LLama.Exceptions.LoadWeightsFailedException)
        {
            var log = new System.Text.StringBuilder();
            NativeLogConfig.llama_log_set((level, message) => log.Append(message));
            try
            {
                LLamaWeights.LoadFromFile(Params(path)).Dispose();
            }
            catch (LLama.Exceptions.LoadWeightsFailedException e)
            {
                throw new InvalidOperationException($"llama.cpp refused {path}:\n{string.Join("\n", log.ToString().Split('\n').TakeLast(15))}", e);
            }
            finally
            {
                NativeLogConfig.llama_log_set((NativeLogConfig.LLamaLogCallback?)null);
            }

            throw;
        }
    }

    /// <summary>(max |a - b|, max |a|) over every row.</summary>
    public static (double MaxDiff, double MaxAbs) Compare(float[][] expected, float[][] actual)
    {
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            for (int v = 0; v < expected[i].Length; v++)
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(expected[i][v]));
                maxDiff = Math.Max(maxDiff, Math.Abs(expected[i][v] - actual[i][v]));
            }
        }

        return (maxDiff, maxAbs);
    }

    /// <summary>Greedy with the engine's tie rule: the lowest id among equal maxima.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}
