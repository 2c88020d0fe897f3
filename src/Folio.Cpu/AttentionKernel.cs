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
        for (int j = firstKey; j < contextLength; j++)
        {
            long slot = ((long)blockTable[j / blockSize] * blockSize) + (j % blockSize);
            scores[j - firstKey] = VectorMath.Dot(q, kPool + (slot * kvDim) + kvOffset, headDim) * scale;
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

        new Span<float>(output, headDim).Clear();
        for (int j = firstKey; j < contextLength; j++)
        {
            long slot = ((long)blockTable[j / blockSize] * blockSize) + (j % blockSize);
            VectorMath.AddScaled(output, vPool + (slot * kvDim) + kvOffset, scores[j - firstKey], headDim);
        }

        VectorMath.Scale(output, output, 1f / sum, headDim);
    }
}
