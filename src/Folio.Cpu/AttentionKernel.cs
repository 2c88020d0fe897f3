using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Folio.Cpu;

/// <summary>
/// Attention of one query head of one token over its sequence's paged K/V. Prefill and decode run
/// exactly this routine, and keys are visited in position order firstKey..contextLength-1, so a
/// query's output depends only on its own vector and its sequence's cache, never on the batch around
/// it. A sliding-window layer passes the window's first position as firstKey: blocks before it are
/// never read.
/// </summary>
internal static unsafe class AttentionKernel
{
    /// <summary>Attention of one query head: <see cref="AttendGroup"/> with a group of one.</summary>
    public static void AttendOne(float* q, float* kPool, float* vPool, int* blockTable, int blockSize, int kvOffset, int kvDim, int headDim, int firstKey, int contextLength, float scale, float softcap, float* scores, float* output) =>
        AttendGroup(q, 1, kPool, vPool, blockTable, blockSize, kvOffset, kvDim, headDim, firstKey, contextLength, scale, softcap, scores, output);

    /// <summary>
    /// Attention of <paramref name="heads"/> query heads that share one KV head (grouped-query
    /// attention), in one walk over that head's keys and values: each block of keys is scored for
    /// every head while it is in L1, and the values are read once for up to four heads. Each head's
    /// output goes through exactly the steps it would alone (the same score arithmetic per key, the
    /// same softmax, the same chain of FMAs per output element in key order), so the bits are those
    /// of <paramref name="heads"/> separate calls.
    /// </summary>
    /// <param name="q">[heads][headDim] the (roped) queries, consecutive.</param>
    /// <param name="kPool">one layer's K pool, [numBlocks, blockSize, numKvHeads, headDim].</param>
    /// <param name="vPool">one layer's V pool, same layout.</param>
    /// <param name="blockTable">the sequence's physical block ids in logical order.</param>
    /// <param name="kvOffset">kvHead * headDim: where this head's K/V start inside a slot.</param>
    /// <param name="kvDim">numKvHeads * headDim: the stride between slots.</param>
    /// <param name="firstKey">the first visible position (0, or the start of a sliding window).</param>
    /// <param name="contextLength">keys at positions firstKey..contextLength-1 are visible (causal: position + 1).</param>
    /// <param name="softcap">scores s become softcap · tanh(s / softcap) when &gt; 0 (Gemma 2).</param>
    /// <param name="scores">scratch of at least heads · (contextLength - firstKey) floats.</param>
    /// <param name="output">[heads][headDim] result.</param>
    public static void AttendGroup(float* q, int heads, float* kPool, float* vPool, int* blockTable, int blockSize, int kvOffset, int kvDim, int headDim, int firstKey, int contextLength, float scale, float softcap, float* scores, float* output)
    {
        int n = contextLength - firstKey;

        if (firstKey < contextLength)
        {
            PrefetchBlockRows(kPool, blockTable, blockSize, kvOffset, kvDim, headDim, firstKey / blockSize, firstKey, contextLength);
        }

        // Keys are walked block by block: one division per block, not two per key (an integer
        // division costs tens of cycles, and at a few hundred positions the divisions alone took a
        // fifth of a decode step). Same keys, same order, same arithmetic.
        for (int j = firstKey; j < contextLength;)
        {
            int block = j / blockSize;
            int end = Math.Min(contextLength, (block + 1) * blockSize);
            float* k = SlotOf(kPool, blockTable, blockSize, kvDim, block, j) + kvOffset;

            // The cache is read once per kv head and token, from memory more often than not (a
            // layer's K/V of a few hundred positions is megabytes): the next block's keys and this
            // block's values are requested now, while this block's scores are computed, so the
            // misses overlap instead of each key's rows waiting on their own.
            if (end < contextLength)
            {
                PrefetchBlockRows(kPool, blockTable, blockSize, kvOffset, kvDim, headDim, block + 1, end, contextLength);
            }

            PrefetchBlockRows(vPool, blockTable, blockSize, kvOffset, kvDim, headDim, block, j, end);
            for (int h = 0; h < heads; h++)
            {
                ScoreKeys(q + (h * headDim), k, kvDim, headDim, scale, scores + (h * n) + (j - firstKey), end - j);
            }

            j = end;
        }

        float* sums = stackalloc float[heads];
        for (int h = 0; h < heads; h++)
        {
            float* hs = scores + (h * n);
            if (softcap > 0)
            {
                VectorMath.SoftCap(hs, n, softcap);
            }

            float max = VectorMath.Max(hs, n);
            VectorMath.ExpShifted(hs, n, max);
            sums[h] = VectorMath.Sum(hs, n);
        }

        // output = Σ_j p_j · v_j, each element a chain of FMAs over the keys in position order. The
        // head is taken 64 values at a time with the sums in registers: adding into memory made
        // every key wait for the previous key's store of the same output (a store-to-load chain
        // about three times an FMA's latency). Four heads at a time read each value once and keep
        // sixteen independent chains going; each element sees the same FMAs in the same order.
        int d = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; d + 64 <= headDim; d += 64)
            {
                int h = 0;
                for (; h + 4 <= heads; h += 4)
                {
                    WeightedSum64x4(vPool + kvOffset + d, blockTable, blockSize, kvDim, firstKey, contextLength, scores + (h * n), n, output + (h * headDim) + d, headDim);
                }

                for (; h < heads; h++)
                {
                    WeightedSum64(vPool + kvOffset + d, blockTable, blockSize, kvDim, firstKey, contextLength, scores + (h * n), output + (h * headDim) + d);
                }
            }
        }

        for (int h = 0; h < heads; h++)
        {
            float* o = output + (h * headDim);
            float* hs = scores + (h * n);
            new Span<float>(o + d, headDim - d).Clear();

            // The rest of the head (none when its size is a multiple of 64), key by key; skipped whole
            // when empty, or it walks every key only to call AddScaled with nothing to add.
            for (int j = d < headDim ? firstKey : contextLength; j < contextLength;)
            {
                int block = j / blockSize;
                int end = Math.Min(contextLength, (block + 1) * blockSize);
                float* v = SlotOf(vPool, blockTable, blockSize, kvDim, block, j) + kvOffset + d;
                for (; j < end; j++, v += kvDim)
                {
                    VectorMath.AddScaled(o + d, v, hs[j - firstKey], headDim - d);
                }
            }

            VectorMath.Scale(o, o, 1f / sums[h], headDim);
        }
    }

    /// <summary>The scaled scores of <paramref name="count"/> consecutive keys of a block (from <paramref name="k"/>, every kvDim floats) against one query.</summary>
    private static void ScoreKeys(float* q, float* k, int kvDim, int headDim, float scale, float* scores, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && headDim % VectorMath.ReductionLanes == 0)
        {
            for (; i + 4 <= count; i += 4, k += 4 * kvDim)
            {
                Dot4(q, k, kvDim, headDim, scale, scores + i);
            }
        }

        for (; i < count; i++, k += kvDim)
        {
            scores[i] = VectorMath.Dot(q, k, headDim) * scale;
        }
    }

    /// <summary>The first float of <paramref name="position"/>'s slot in a pool, <paramref name="block"/> being the logical block that holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* SlotOf(float* pool, int* blockTable, int blockSize, int kvDim, int block, int position) =>
        pool + ((((long)blockTable[block] * blockSize) + (position - (block * blockSize))) * kvDim);

    /// <summary>Prefetches one head's rows of positions [from, to) of logical block <paramref name="block"/> (all inside it or clipped to it).</summary>
    private static void PrefetchBlockRows(float* pool, int* blockTable, int blockSize, int kvOffset, int kvDim, int headDim, int block, int from, int to)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        int first = Math.Max(from, block * blockSize);
        int last = Math.Min(to, (block + 1) * blockSize);
        float* row = SlotOf(pool, blockTable, blockSize, kvDim, block, first) + kvOffset;
        for (int j = first; j < last; j++, row += kvDim)
        {
            for (int b = 0; b < headDim * sizeof(float); b += 64)
            {
                Sse.Prefetch0((byte*)row + b);
            }
        }
    }

    /// <summary>
    /// The scores of four consecutive keys (<paramref name="k"/>, then every <paramref name="kvDim"/>
    /// floats): each exactly <see cref="VectorMath.Dot"/>'s AVX-512 arithmetic (one 16-wide FMA chain,
    /// the halves folded, then the pairs of four lanes) times the scale, for a head dimension that is a
    /// multiple of 16. One key's dot is a chain of dependent FMAs and folds; four side by side keep the
    /// FMA units busy where one after the other each waited on its own chain. Same bits as four Dot calls.
    /// </summary>
    internal static void Dot4(float* q, float* k, int kvDim, int headDim, float scale, float* scores)
    {
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero;
        var a3 = Vector512<float>.Zero;
        float* k1 = k + kvDim, k2 = k + (2 * kvDim), k3 = k + (3 * kvDim);
        for (int i = 0; i < headDim; i += 16)
        {
            var qi = Vector512.Load(q + i);
            a0 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(k + i), a0);
            a1 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(k1 + i), a1);
            a2 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(k2 + i), a2);
            a3 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(k3 + i), a3);
        }

        scores[0] = VectorMath.FoldSum(a0) * scale;
        scores[1] = VectorMath.FoldSum(a1) * scale;
        scores[2] = VectorMath.FoldSum(a2) * scale;
        scores[3] = VectorMath.FoldSum(a3) * scale;
    }

    /// <summary>output[0..64) = Σ_j scores[j - firstKey] · v_j[0..64), the keys in position order, four 16-wide sums in registers.</summary>
    internal static void WeightedSum64(float* v0, int* blockTable, int blockSize, int kvDim, int firstKey, int contextLength, float* scores, float* output)
    {
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero;
        var a3 = Vector512<float>.Zero;
        for (int j = firstKey; j < contextLength;)
        {
            int block = j / blockSize;
            int end = Math.Min(contextLength, (block + 1) * blockSize);
            float* v = SlotOf(v0, blockTable, blockSize, kvDim, block, j);
            for (; j < end; j++, v += kvDim)
            {
                var p = Vector512.Create(scores[j - firstKey]);
                a0 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v), a0);
                a1 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(p, Vector512.Load(v + 48), a3);
            }
        }

        a0.Store(output);
        a1.Store(output + 16);
        a2.Store(output + 32);
        a3.Store(output + 48);
    }

    /// <summary>
    /// <see cref="WeightedSum64"/> for four heads at once: head h's scores at scores + h · <paramref name="scoreStride"/>,
    /// its output at output + h · <paramref name="outputStride"/>. Each value row is loaded once for the four.
    /// </summary>
    internal static void WeightedSum64x4(float* v0, int* blockTable, int blockSize, int kvDim, int firstKey, int contextLength, float* scores, int scoreStride, float* output, int outputStride)
    {
        var a00 = Vector512<float>.Zero;
        var a01 = Vector512<float>.Zero;
        var a02 = Vector512<float>.Zero;
        var a03 = Vector512<float>.Zero;
        var a10 = Vector512<float>.Zero;
        var a11 = Vector512<float>.Zero;
        var a12 = Vector512<float>.Zero;
        var a13 = Vector512<float>.Zero;
        var a20 = Vector512<float>.Zero;
        var a21 = Vector512<float>.Zero;
        var a22 = Vector512<float>.Zero;
        var a23 = Vector512<float>.Zero;
        var a30 = Vector512<float>.Zero;
        var a31 = Vector512<float>.Zero;
        var a32 = Vector512<float>.Zero;
        var a33 = Vector512<float>.Zero;
        float* s0 = scores - firstKey, s1 = s0 + scoreStride, s2 = s1 + scoreStride, s3 = s2 + scoreStride;
        for (int j = firstKey; j < contextLength;)
        {
            int block = j / blockSize;
            int end = Math.Min(contextLength, (block + 1) * blockSize);
            float* v = SlotOf(v0, blockTable, blockSize, kvDim, block, j);
            for (; j < end; j++, v += kvDim)
            {
                var v0j = Vector512.Load(v);
                var v1j = Vector512.Load(v + 16);
                var v2j = Vector512.Load(v + 32);
                var v3j = Vector512.Load(v + 48);
                var p = Vector512.Create(s0[j]);
                a00 = Vector512.FusedMultiplyAdd(p, v0j, a00);
                a01 = Vector512.FusedMultiplyAdd(p, v1j, a01);
                a02 = Vector512.FusedMultiplyAdd(p, v2j, a02);
                a03 = Vector512.FusedMultiplyAdd(p, v3j, a03);
                p = Vector512.Create(s1[j]);
                a10 = Vector512.FusedMultiplyAdd(p, v0j, a10);
                a11 = Vector512.FusedMultiplyAdd(p, v1j, a11);
                a12 = Vector512.FusedMultiplyAdd(p, v2j, a12);
                a13 = Vector512.FusedMultiplyAdd(p, v3j, a13);
                p = Vector512.Create(s2[j]);
                a20 = Vector512.FusedMultiplyAdd(p, v0j, a20);
                a21 = Vector512.FusedMultiplyAdd(p, v1j, a21);
                a22 = Vector512.FusedMultiplyAdd(p, v2j, a22);
                a23 = Vector512.FusedMultiplyAdd(p, v3j, a23);
                p = Vector512.Create(s3[j]);
                a30 = Vector512.FusedMultiplyAdd(p, v0j, a30);
                a31 = Vector512.FusedMultiplyAdd(p, v1j, a31);
                a32 = Vector512.FusedMultiplyAdd(p, v2j, a32);
                a33 = Vector512.FusedMultiplyAdd(p, v3j, a33);
            }
        }

        float* o1 = output + outputStride, o2 = o1 + outputStride, o3 = o2 + outputStride;
        a00.Store(output);
        a01.Store(output + 16);
        a02.Store(output + 32);
        a03.Store(output + 48);
        a10.Store(o1);
        a11.Store(o1 + 16);
        a12.Store(o1 + 32);
        a13.Store(o1 + 48);
        a20.Store(o2);
        a21.Store(o2 + 16);
        a22.Store(o2 + 32);
        a23.Store(o2 + 48);
        a30.Store(o3);
        a31.Store(o3 + 16);
        a32.Store(o3 + 32);
        a33.Store(o3 + 48);
    }
}
