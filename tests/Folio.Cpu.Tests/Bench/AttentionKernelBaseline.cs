using System.Runtime.Intrinsics;

using Folio.Cpu;

namespace Folio.Cpu.Tests.Bench;

/// <summary>
/// The attention kernel's walk as it was before its key/value prefetch, vectorized max and skipped
/// empty tail (commit 129c5de), kept here so that <see cref="AttentionBench"/> times it beside the
/// current <see cref="AttentionKernel"/> in one process and checks both give the same bits. It calls
/// the current kernel's <c>Dot4</c> and <c>WeightedSum64</c>, which that change left as they were, so
/// the bench measures exactly those three changes. Not used by any test of correctness.
/// </summary>
internal static unsafe class AttentionKernelBaseline
{
    /// <param name="q">[headDim] the (roped) query of one head.</param>
    /// <param name="kPool">one layer's K pool, [numBlocks, blockSize, numKvHeads, headDim].</param>
    /// <param name="vPool">one layer's V pool, same layout.</param>
    /// <param name="blockTable">the sequence's physical block ids in logical order.</param>
    /// <param name="kvOffset">kvHead * headDim: where this head's K/V start inside a slot.</param>
    /// <param name="kvDim">numKvHeads * headDim: the stride between slots.</param>
    /// <param name="firstKey">the first visible position (0, or the start of a sliding window).</param>
    /// <param name="contextLength">keys at positions firstKey..contextLength-1 are visible (causal: position + 1).</param>
    /// <param name="softcap">scores s become softcap · tanh(s / softcap) when &gt; 0 (Gemma 2).</param>
    /// <param name="scores">scratch of at least contextLength floats.</param>
    /// <param name="output">[headDim] result.</param>
    public static void AttendOne(float* q, float* kPool, float* vPool, int* blockTable, int blockSize, int kvOffset, int kvDim, int headDim, int firstKey, int contextLength, float scale, float softcap, float* scores, float* output)
    {
        int n = contextLength - firstKey;

        // Keys are walked block by block: one division per block, not two per key (an integer
        // division costs tens of cycles, and at a few hundred positions the divisions alone took a
        // fifth of a decode step). Same keys, same order, same arithmetic.
        for (int j = firstKey; j < contextLength;)
        {
            int block = j / blockSize;
            int end = Math.Min(contextLength, (block + 1) * blockSize);
            float* k = kPool + (((long)blockTable[block] * blockSize) + (j - (block * blockSize))) * kvDim + kvOffset;
            if (Vector512.IsHardwareAccelerated && headDim % VectorMath.ReductionLanes == 0)
            {
                for (; j + 4 <= end; j += 4, k += 4 * kvDim)
                {
                    AttentionKernel.Dot4(q, k, kvDim, headDim, scale, scores + (j - firstKey));
                }
            }

            for (; j < end; j++, k += kvDim)
            {
                scores[j - firstKey] = VectorMath.Dot(q, k, headDim) * scale;
            }
        }

        if (softcap > 0)
        {
            VectorMath.SoftCap(scores, n, softcap);
        }

        float max = float.NegativeInfinity;
        for (int j = 0; j < n; j++)
        {
            max = MathF.Max(max, scores[j]);
        }

        VectorMath.ExpShifted(scores, n, max);
        float sum = 0;
        for (int j = 0; j < n; j++)
        {
            sum += scores[j];
        }

        // output = Σ_j p_j · v_j, each element a chain of FMAs over the keys in position order. The
        // head is taken 64 values at a time with the sums in registers: adding into memory made
        // every key wait for the previous key's store of the same output (a store-to-load chain
        // about three times an FMA's latency). Each element sees the same FMAs in the same order.
        int d = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; d + 64 <= headDim; d += 64)
            {
                AttentionKernel.WeightedSum64(vPool + kvOffset + d, blockTable, blockSize, kvDim, firstKey, contextLength, scores, output + d);
            }
        }

        new Span<float>(output + d, headDim - d).Clear();
        for (int j = firstKey; j < contextLength;)
        {
            int block = j / blockSize;
            int end = Math.Min(contextLength, (block + 1) * blockSize);
            float* v = vPool + (((long)blockTable[block] * blockSize) + (j - (block * blockSize))) * kvDim + kvOffset + d;
            for (; j < end; j++, v += kvDim)
            {
                VectorMath.AddScaled(output + d, v, scores[j - firstKey], headDim - d);
            }
        }

        VectorMath.Scale(output, output, 1f / sum, headDim);
    }
}
