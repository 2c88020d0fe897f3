namespace Folio.Cuda.Tests.Reference;

/// <summary>
/// Paged attention in float64, straight from the definition: for each query, softmax(q.K^T * scale)
/// over the keys it may see (causal), times V, reading K/V through the block table in the layout
/// [numBlocks, blockSize, numKvHeads, headDim]. Gemma's variants as the CPU backend's AttentionKernel
/// defines them: a soft-cap (s becomes softcap * tanh(s / softcap)) and a sliding window (a query at
/// position p sees p - window + 1 .. p).
/// </summary>
internal static class AttentionReference
{
    /// <param name="q">[numTokens, qStride]; head h of token t at t*qStride + h*headDim.</param>
    /// <param name="queryStart">[numSeqs+1] token ranges; token i of seq s sits at position ctx - qlen + i.</param>
    /// <returns>[numTokens, numHeads*headDim]</returns>
    public static double[] Run(float[] q, int qStride, float[] kCache, float[] vCache, int[] blockTables, int maxBlocks,
        int[] contextLens, int[] queryStart, int numHeads, int numKvHeads, int headDim, int blockSize, double scale, double softcap = 0, int window = 0)
    {
        int numSeqs = contextLens.Length;
        int numTokens = queryStart[numSeqs];
        var output = new double[numTokens * numHeads * headDim];
        int group = numHeads / numKvHeads;
        for (int s = 0; s < numSeqs; s++)
        {
            int qlen = queryStart[s + 1] - queryStart[s];
            int ctx = contextLens[s];
            for (int i = 0; i < qlen; i++)
            {
                int t = queryStart[s] + i;
                int visible = ctx - qlen + i + 1;
                int first = window > 0 ? Math.Max(0, visible - window) : 0;
                for (int h = 0; h < numHeads; h++)
                {
                    int kvh = h / group;
                    var scores = new double[visible];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < first; j++)
                    {
                        scores[j] = double.NegativeInfinity;
                    }

                    for (int j = first; j < visible; j++)
                    {
                        long slot = ((long)blockTables[(s * maxBlocks) + (j / blockSize)] * blockSize) + (j % blockSize);
                        long kb = ((slot * numKvHeads) + kvh) * headDim;
                        double dot = 0;
                        for (int d = 0; d < headDim; d++)
                        {
                            dot += (double)q[(t * qStride) + (h * headDim) + d] * kCache[kb + d];
                        }

                        scores[j] = softcap > 0 ? softcap * Math.Tanh(dot * scale / softcap) : dot * scale;
                        max = Math.Max(max, scores[j]);
                    }

                    double sum = 0;
                    for (int j = 0; j < visible; j++)
                    {
                        scores[j] = Math.Exp(scores[j] - max);
                        sum += scores[j];
                    }

                    for (int j = first; j < visible; j++)
                    {
                        long slot = ((long)blockTables[(s * maxBlocks) + (j / blockSize)] * blockSize) + (j % blockSize);
                        long vb = ((slot * numKvHeads) + kvh) * headDim;
                        double p = scores[j] / sum;
                        for (int d = 0; d < headDim; d++)
                        {
                            output[(((long)t * numHeads) + h) * headDim + d] += p * vCache[vb + d];
                        }
                    }
                }
            }
        }

        return output;
    }
}
