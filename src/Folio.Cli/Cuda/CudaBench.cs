using System.Diagnostics;
using Folio.Cuda.Kernels;
using Folio.Cuda.Runner;
using Folio.Engine.Execution;
using Folio.Models;

using Folio.Cuda;

namespace Folio.Cli.Cuda;

/// <summary>
/// The GPU benchmarks of issue 5: device-to-device copy bandwidth (the practical roofline), decode
/// tokens/s at several batch sizes, weight-read bandwidth at batch 1 against the copy, and the
/// paged-attention kernel's bandwidth. Timings are wall-clock around stream synchronisation.
/// </summary>
public static unsafe class CudaBench
{
    public sealed record Line(string What, double Value, string Unit, string Note = "");

    /// <summary>Bytes read+written per second by cuMemcpyDtoD of <paramref name="bytes"/>.</summary>
    public static double CopyBandwidth(CudaContext ctx, long bytes = 1L << 30, int reps = 10)
    {
        using var a = ctx.Allocate(bytes);
        using var b = ctx.Allocate(bytes);
        a.Clear();
        ctx.MakeCurrent();
        Folio.Cuda.Interop.CudaDriver.Check(Folio.Cuda.Interop.CudaDriver.cuMemcpyDtoD(b.Pointer, a.Pointer, (nuint)bytes), "cuMemcpyDtoD");
        ctx.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++)
        {
            Folio.Cuda.Interop.CudaDriver.Check(Folio.Cuda.Interop.CudaDriver.cuMemcpyDtoD(b.Pointer, a.Pointer, (nuint)bytes), "cuMemcpyDtoD");
        }

        ctx.Synchronize();
        return 2.0 * bytes * reps / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Split-K decode attention over <paramref name="seqs"/> sequences of <paramref name="context"/> tokens: unique K/V bytes read per second.</summary>
    public static double AttentionBandwidth(CudaContext ctx, int seqs = 64, int context = 4096, int heads = 32, int kvHeads = 8, int headDim = 128, int blockSize = 16, int reps = 20)
    {
        using var stream = ctx.CreateStream();
        using var k = new CudaKernelSet(ctx, null);
        int blocksPerSeq = context / blockSize;
        long poolElems = (long)seqs * blocksPerSeq * blockSize * kvHeads * headDim;
        using var kc = ctx.Allocate(poolElems * 2);
        using var vc = ctx.Allocate(poolElems * 2);
        kc.Clear();
        vc.Clear();
        var tables = Enumerable.Range(0, seqs * blocksPerSeq).ToArray();
        var ctxLens = Enumerable.Repeat(context, seqs).ToArray();
        using var dt = ctx.Allocate(tables.Length * 4L);
        using var dc = ctx.Allocate(seqs * 4L);
        dt.Upload<int>(tables);
        dc.Upload<int>(ctxLens);
        int part = KernelShapes.DefaultPartitionSize, parts = KernelShapes.Partitions(context, part);
        using var q = ctx.Allocate((long)seqs * heads * headDim * 4);
        q.Clear();
        using var o = ctx.Allocate((long)seqs * heads * headDim * 2);
        using var tmp = ctx.Allocate((long)seqs * heads * parts * headDim * 4);
        using var ml = ctx.Allocate((long)seqs * heads * parts * 4);
        using var es = ctx.Allocate((long)seqs * heads * parts * 4);
        void Run()
        {
            k.Decode.Launch(stream, (heads, seqs, parts), KernelShapes.AttentionThreads, KernelShapes.DecodeSharedBytes(headDim, part),
                new KernelArgs().Ptr(o).Ptr(tmp).Ptr(ml).Ptr(es).Ptr(q).Int(heads * headDim).Ptr(kc).Ptr(vc).Ptr(dt).Int(blocksPerSeq).Ptr(dc)
                    .Int(kvHeads).Int(headDim).Int(blockSize).Float(1f / MathF.Sqrt(headDim)).Int(part).Float(0f).Int(0));
            k.Reduce.Launch(stream, (heads, seqs, 1), KernelShapes.AttentionThreads, KernelShapes.ReduceSharedBytes(parts),
                new KernelArgs().Ptr(o).Ptr(tmp).Ptr(ml).Ptr(es).Ptr(dc).Int(headDim).Int(part).Int(parts));
        }

        Run();
        stream.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++)
        {
            Run();
        }

        stream.Synchronize();
        return 2.0 * poolElems * 2 * reps / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Decode tokens/s with <paramref name="batch"/> sequences after a <paramref name="prompt"/>-token prefill each; also the seconds per step.</summary>
    public static (double TokensPerSecond, double SecondsPerStep) Decode(CudaModelRunner runner, int batch, int prompt = 128, int steps = 32)
    {
        var c = runner.Config;
        int bs = runner.BlockSize;
        int blocksPerSeq = (prompt + steps + 1 + bs - 1) / bs;
        if (batch * blocksPerSeq > runner.NumBlocks)
        {
            throw new InvalidOperationException($"batch {batch} needs {batch * blocksPerSeq} KV blocks, the pool has {runner.NumBlocks}");
        }

        var tables = Enumerable.Range(0, batch).Select(s => Enumerable.Range(s * blocksPerSeq, blocksPerSeq).ToArray()).ToArray();
        var rng = new Random(5);
        var tokens = Enumerable.Range(0, prompt).Select(_ => rng.Next(c.VocabSize)).ToArray();
        int perStep = Math.Max(1, 2048 / prompt);
        var fb = new ForwardBatch(Math.Max(2048, batch), Math.Max(batch, perStep), blocksPerSeq);
        var logits = new float[(long)batch * c.VocabSize];
        for (int s0 = 0; s0 < batch; s0 += perStep)
        {
            fb.Clear();
            for (int s = s0; s < Math.Min(batch, s0 + perStep); s++)
            {
                fb.AddSequence(tokens, 0, tables[s], bs, wantLogits: true);
            }

            runner.Forward(fb, logits);
        }

        int[] one = [1];
        void Step(int pos)
        {
            fb.Clear();
            for (int s = 0; s < batch; s++)
            {
                fb.AddSequence(one, pos, tables[s], bs, wantLogits: true);
            }

            runner.Forward(fb, logits);
        }

        Step(prompt);
        var sw = Stopwatch.StartNew();
        for (int i = 1; i <= steps; i++)
        {
            Step(prompt + i - 1);
        }

        double t = sw.Elapsed.TotalSeconds;
        return (batch * steps / t, t / steps);
    }

    public static long WeightBytes(ModelConfig c)
    {
        long layer = ((long)c.QDim + (2L * c.KvDim)) * c.HiddenSize + ((long)c.QDim * c.HiddenSize) + (3L * c.IntermediateSize * c.HiddenSize) + (2L * c.HiddenSize);
        long head = c.TieWordEmbeddings ? 0 : (long)c.VocabSize * c.HiddenSize;
        return 2 * ((layer * c.NumLayers) + head + c.HiddenSize); // bf16; the embedding table is gathered, not streamed
    }
}
