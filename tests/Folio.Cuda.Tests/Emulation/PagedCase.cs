using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// A random paged KV cache: sequences with the given context lengths whose blocks are scattered
/// over a pool in shuffled order (so a kernel that ignores the block table fails), K/V and queries
/// uniform in [-1, 1] (queries scaled up so that softmax is not flat).
/// </summary>
internal sealed class PagedCase
{
    public PagedCase(int seed, int headDim, int blockSize, int numKvHeads, int groupSize, int[] contextLens, int[] queryLens, bool bf16, float? scale = null)
    {
        var rng = new Random(seed);
        HeadDim = headDim;
        BlockSize = blockSize;
        NumKvHeads = numKvHeads;
        NumHeads = numKvHeads * groupSize;
        ContextLens = contextLens;
        NumSeqs = contextLens.Length;
        MaxBlocks = contextLens.Max(c => (c + blockSize - 1) / blockSize);
        int used = contextLens.Sum(c => (c + blockSize - 1) / blockSize);
        NumBlocks = used + 3;
        var ids = Enumerable.Range(0, NumBlocks).OrderBy(_ => rng.Next()).ToArray();
        BlockTables = new int[NumSeqs * MaxBlocks];
        int next = 0;
        for (int s = 0; s < NumSeqs; s++)
        {
            for (int b = 0; b < (contextLens[s] + blockSize - 1) / blockSize; b++)
            {
                BlockTables[(s * MaxBlocks) + b] = ids[next++];
            }
        }

        int cacheLen = NumBlocks * blockSize * numKvHeads * headDim;
        KCache = Rand.Uniform(rng, cacheLen);
        VCache = Rand.Uniform(rng, cacheLen);
        QueryStart = new int[NumSeqs + 1];
        for (int s = 0; s < NumSeqs; s++)
        {
            QueryStart[s + 1] = QueryStart[s] + queryLens[s];
        }

        NumTokens = QueryStart[NumSeqs];
        // q rows carry q, k and v side by side as the fused QKV GEMM writes them: stride > numHeads*headDim.
        QStride = (NumHeads + (2 * numKvHeads)) * headDim;
        Q = Rand.Uniform(rng, NumTokens * QStride, 3f);
        if (bf16)
        {
            // The reference reads exactly the values the kernel reads.
            KCache = Bf16.Decode(Bf16.Encode(KCache));
            VCache = Bf16.Decode(Bf16.Encode(VCache));
        }

        Scale = scale ?? 1f / MathF.Sqrt(headDim);
    }

    public int HeadDim { get; }
    public int BlockSize { get; }
    public int NumKvHeads { get; }
    public int NumHeads { get; }
    public int NumSeqs { get; }
    public int NumTokens { get; }
    public int NumBlocks { get; }
    public int MaxBlocks { get; }
    public int QStride { get; }
    public float Scale { get; }
    public int[] ContextLens { get; }
    public int[] BlockTables { get; }
    public int[] QueryStart { get; }
    public float[] KCache { get; }
    public float[] VCache { get; }
    public float[] Q { get; }

    public double[] Reference(double softcap = 0, int window = 0) => AttentionReference.Run(Q, QStride, KCache, VCache, BlockTables, MaxBlocks, ContextLens, QueryStart,
        NumHeads, NumKvHeads, HeadDim, BlockSize, Scale, softcap, window);
}
