using Folio.Cuda.Kernels;
using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>Runs the attention kernels of attention.cu on a <see cref="PagedCase"/> through the emulation.</summary>
internal static unsafe class EmuAttention
{
    /// <summary>Decode: one query per sequence (the case's queries must all have length 1).</summary>
    /// <param name="partitionSize">0 = single pass over the whole context; otherwise split-K with this partition size.</param>
    /// <param name="softcap">scores s become softcap * tanh(s / softcap) when &gt; 0.</param>
    /// <param name="window">a sliding window of this many keys when &gt; 0.</param>
    public static float[] Decode(PagedCase c, bool bf16, int partitionSize, float softcap = 0f, int window = 0)
    {
        EmuLibrary.EnsureLoaded();
        int maxCtx = c.ContextLens.Max();
        bool split = partitionSize > 0;
        int part = split ? partitionSize : maxCtx;
        int parts = split ? KernelShapes.Partitions(maxCtx, part) : 1;
        int outLen = c.NumSeqs * c.NumHeads * c.HeadDim;
        var tmp = new float[Math.Max(1, c.NumSeqs * c.NumHeads * parts * c.HeadDim)];
        var maxLogits = new float[Math.Max(1, c.NumSeqs * c.NumHeads * parts)];
        var expSums = new float[maxLogits.Length];
        long smem = KernelShapes.DecodeSharedBytes(c.HeadDim, part);
        int t = KernelShapes.AttentionThreads;
        fixed (float* q = c.Q, tp = tmp, ml = maxLogits, es = expSums)
        fixed (int* bt = c.BlockTables, cl = c.ContextLens)
        {
            if (!bf16)
            {
                var output = new float[outLen];
                fixed (float* o = output, kc = c.KCache, vc = c.VCache)
                {
                    EmuKernels.DecodeF32(c.NumHeads, c.NumSeqs, parts, t, smem, o, tp, ml, es, q, c.QStride, kc, vc, bt, c.MaxBlocks, cl, c.NumKvHeads, c.HeadDim, c.BlockSize, c.Scale, part, softcap, window);
                    if (split)
                    {
                        EmuKernels.ReduceF32(c.NumHeads, c.NumSeqs, 1, t, KernelShapes.ReduceSharedBytes(parts), o, tp, ml, es, cl, c.HeadDim, part, parts);
                    }
                }

                return output;
            }

            var output16 = new ushort[outLen];
            var k16 = Bf16.Encode(c.KCache);
            var v16 = Bf16.Encode(c.VCache);
            fixed (ushort* o = output16, kc = k16, vc = v16)
            {
                EmuKernels.DecodeBf16(c.NumHeads, c.NumSeqs, parts, t, smem, o, tp, ml, es, q, c.QStride, kc, vc, bt, c.MaxBlocks, cl, c.NumKvHeads, c.HeadDim, c.BlockSize, c.Scale, part, softcap, window);
                if (split)
                {
                    EmuKernels.ReduceBf16(c.NumHeads, c.NumSeqs, 1, t, KernelShapes.ReduceSharedBytes(parts), o, tp, ml, es, cl, c.HeadDim, part, parts);
                }
            }

            return Bf16.Decode(output16);
        }
    }

    /// <summary>Prefill / chunked prefill: any query lengths, causal over the cached + new keys.</summary>
    public static float[] Prefill(PagedCase c, bool bf16, float softcap = 0f, int window = 0)
    {
        EmuLibrary.EnsureLoaded();
        int maxQ = 0;
        for (int s = 0; s < c.NumSeqs; s++)
        {
            maxQ = Math.Max(maxQ, c.QueryStart[s + 1] - c.QueryStart[s]);
        }

        int tiles = KernelShapes.PrefillTiles(maxQ);
        long smem = KernelShapes.PrefillSharedBytes(c.HeadDim);
        int t = KernelShapes.AttentionThreads;
        int outLen = c.NumTokens * c.NumHeads * c.HeadDim;
        fixed (float* q = c.Q)
        fixed (int* bt = c.BlockTables, cl = c.ContextLens, qs = c.QueryStart)
        {
            if (!bf16)
            {
                var output = new float[outLen];
                fixed (float* o = output, kc = c.KCache, vc = c.VCache)
                {
                    EmuKernels.PrefillF32(c.NumHeads, c.NumSeqs, tiles, t, smem, o, q, c.QStride, kc, vc, bt, c.MaxBlocks, cl, qs, c.NumKvHeads, c.HeadDim, c.BlockSize, c.Scale, softcap, window);
                }

                return output;
            }

            var output16 = new ushort[outLen];
            var k16 = Bf16.Encode(c.KCache);
            var v16 = Bf16.Encode(c.VCache);
            fixed (ushort* o = output16, kc = k16, vc = v16)
            {
                EmuKernels.PrefillBf16(c.NumHeads, c.NumSeqs, tiles, t, smem, o, q, c.QStride, kc, vc, bt, c.MaxBlocks, cl, qs, c.NumKvHeads, c.HeadDim, c.BlockSize, c.Scale, softcap, window);
            }

            return Bf16.Decode(output16);
        }
    }
}
