using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// llama.cpp through LLamaSharp as the CPU benchmark peer, in its best CPU configuration (flash
/// attention on, f16 K/V): the same prompt tokens and the same fixed input token per step as Folio
/// gets (<see cref="BenchTokens"/>), no sampling.
/// </summary>
public sealed class LlamaPeer : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly string _path;
    private readonly int _threads;

    public LlamaPeer(string path, int threads)
    {
        LoadNative();
        _path = path;
        _threads = threads;
        _weights = LLamaWeights.LoadFromFile(new ModelParams(path) { GpuLayerCount = 0, Threads = threads, BatchThreads = threads });
    }

    /// <summary>Decode tokens/s of <paramref name="batch"/> sequences after a <paramref name="prompt"/>-token prefill each.</summary>
    public double Decode(int batch, int prompt, int steps, int vocab)
    {
        int perSeq = prompt + steps + 2;
        using var ctx = _weights.CreateContext(Params((uint)(batch * perSeq), (uint)batch, (uint)Math.Max(batch * prompt, 512)));
        var lb = new LLamaBatch();
        for (int s = 0; s < batch; s++)
        {
            for (int p = 0; p < prompt; p++)
            {
                lb.Add(BenchTokens.At(s, p, vocab), p, (LLamaSeqId)s, p == prompt - 1);
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
                lb.Add(BenchTokens.At(s, pos, vocab), pos, (LLamaSeqId)s, true);
            }

            Check(ctx.Decode(lb), "decode");
        }

        return batch * steps / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Prompt tokens/s of one <paramref name="tokens"/>-token prompt evaluated in one batch (logits for its last token).</summary>
    public double Prefill(int tokens, int vocab)
    {
        using var ctx = _weights.CreateContext(Params((uint)(tokens + 8), 1, (uint)tokens));
        var lb = new LLamaBatch();
        for (int p = 0; p < tokens; p++)
        {
            lb.Add(BenchTokens.At(0, p, vocab), p, LLamaSeqId.Zero, p == tokens - 1);
        }

        long start = Stopwatch.GetTimestamp();
        Check(ctx.Decode(lb), "prefill");
        return tokens / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private ModelParams Params(uint context, uint sequences, uint batch) => new(_path)
    {
        ContextSize = context,
        SeqMax = sequences,
        BatchSize = batch,
        UBatchSize = batch,
        Threads = _threads,
        BatchThreads = _threads,
        FlashAttention = true,
        TypeK = GGMLType.GGML_TYPE_F16,
        TypeV = GGMLType.GGML_TYPE_F16,
    };

    private static void Check(DecodeResult r, string what)
    {
        if (r != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama.cpp {what} failed: {r}");
        }
    }

    public void Dispose() => _weights.Dispose();

    private static readonly object NativeGate = new();
    private static bool _nativeLoaded;

    /// <summary>Loads llama.cpp's library once, with its log silenced (configuration must precede the first native call).</summary>
    public static void LoadNative()
    {
        lock (NativeGate)
        {
            if (_nativeLoaded)
            {
                return;
            }

            try
            {
                NativeLibraryConfig.All.WithLogCallback((_, _) => { });
            }
            catch (InvalidOperationException)
            {
                // Loaded before by another caller: the log callback cannot be set any more, nothing else is lost.
            }

            NativeApi.llama_empty_call();
            _nativeLoaded = true;
        }
    }
}

/// <summary>The input token of sequence s at position p: fixed, the same for both engines.</summary>
public static class BenchTokens
{
    public static int At(int s, int p, int vocab) => (int)(((s * 7919L) + (p * 104729L) + 13) % vocab);
}
