namespace Folio.Cli.Cuda;

/// <summary>
/// Paged attention with Gemma's variants in float64, as the CPU backend's AttentionKernel defines
/// them: a score s = q·k·scale becomes softcap · tanh(s / softcap) when softcap &gt; 0, and a query at
/// position p sees keys max(0, p - window + 1) .. p when window &gt; 0. Q rows are [heads · headDim].
/// </summary>
internal static class AttentionVariantReference
{
    public static void Run(float[] q, float[] k, float[] v, int[] tables, int maxBlocks, int[] queryStart, int[] positions, int seqs, int blockSize,
        int heads, int kvHeads, int headDim, double scale, double softcap, int window, float[] output)
    {
        int group = heads / kvHeads;
        var scores = new double[positions.Max() + 1];
        var acc = new double[headDim];
        for (int s = 0; s < seqs; s++)
        {
            for (int t = queryStart[s]; t < queryStart[s + 1]; t++)
            {
                int p = positions[t], first = window > 0 ? Math.Max(0, p - window + 1) : 0;
                for (int h = 0; h < heads; h++)
                {
                    int kvh = h / group;
                    double max = double.NegativeInfinity;
                    for (int j = first; j <= p; j++)
                    {
                        long at = Slot(tables, s, maxBlocks, blockSize, j, kvHeads, kvh, headDim);
                        double dot = 0;
                        for (int d = 0; d < headDim; d++)
                        {
                            dot += (double)q[(((long)t * heads) + h) * headDim + d] * k[at + d];
                        }

                        double sc = dot * scale;
                        scores[j] = softcap > 0 ? softcap * Math.Tanh(sc / softcap) : sc;
                        max = Math.Max(max, scores[j]);
                    }

                    Array.Clear(acc);
                    double sum = 0;
                    for (int j = first; j <= p; j++)
                    {
                        double e = Math.Exp(scores[j] - max);
                        sum += e;
                        long at = Slot(tables, s, maxBlocks, blockSize, j, kvHeads, kvh, headDim);
                        for (int d = 0; d < headDim; d++)
                        {
                            acc[d] += e * v[at + d];
                        }
                    }

                    for (int d = 0; d < headDim; d++)
                    {
                        output[(((long)t * heads) + h) * headDim + d] = (float)(acc[d] / sum);
                    }
                }
            }
        }
    }

    private static long Slot(int[] tables, int seq, int maxBlocks, int blockSize, int position, int kvHeads, int kvHead, int headDim)
    {
        long slot = ((long)tables[(seq * maxBlocks) + (position / blockSize)] * blockSize) + (position % blockSize);
        return ((slot * kvHeads) + kvHead) * headDim;
    }
}
