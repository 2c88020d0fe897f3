namespace Folio.Cuda.Kernels;

/// <summary>
/// Launch shapes of the kernels in native-kernels/*.cu: threads per block and dynamic shared
/// memory. The GPU runner and the host-emulation tests both take them from here, so the tests
/// run the kernels exactly as the device does.
/// </summary>
public static class KernelShapes
{
    /// <summary>Threads of the row kernels (norm, activations, embedding, gather).</summary>
    public const int RowThreads = 256;

    /// <summary>Threads of rotary and reshape_and_cache.</summary>
    public const int SmallThreads = 128;

    /// <summary>Threads of the attention kernels (decode, reduce, prefill).</summary>
    public const int AttentionThreads = 128;

    /// <summary>Threads of argmax and sampling (fixed: the kernels size static shared arrays by it).</summary>
    public const int SampleThreads = 256;

    /// <summary>Queries per prefill tile (FOLIO_PREFILL_QT in attention.cu).</summary>
    public const int PrefillQueryTile = 8;

    /// <summary>Keys per prefill step (FOLIO_PREFILL_KT in attention.cu).</summary>
    public const int PrefillKeyTile = 16;

    /// <summary>Context tokens per split-K partition of the decode kernel.</summary>
    public const int DefaultPartitionSize = 512;

    /// <summary>Longest context the single-pass decode kernel handles; longer ones use split-K.</summary>
    public const int SinglePassMaxContext = 4096;

    /// <summary>Dynamic shared bytes of folio_paged_attention_decode: query, scores of one partition, per-group partial outputs.</summary>
    public static long DecodeSharedBytes(int headDim, int partitionSize) =>
        sizeof(float) * ((long)headDim + partitionSize + Math.Max(headDim, AttentionThreads));

    /// <summary>Dynamic shared bytes of folio_paged_attention_reduce: one weight per partition.</summary>
    public static long ReduceSharedBytes(int maxPartitions) => sizeof(float) * (long)Math.Max(maxPartitions, 1);

    /// <summary>Dynamic shared bytes of folio_prefill_attention: query and key tiles (rows padded to headDim + 1), output tile, scores.</summary>
    public static long PrefillSharedBytes(int headDim) =>
        sizeof(float) * (((long)(PrefillQueryTile + PrefillKeyTile) * (headDim + 1)) + ((long)PrefillQueryTile * headDim) + (PrefillQueryTile * PrefillKeyTile));

    public static int Partitions(int contextLength, int partitionSize) => (contextLength + partitionSize - 1) / partitionSize;

    public static int PrefillTiles(int maxQueryLength) => (maxQueryLength + PrefillQueryTile - 1) / PrefillQueryTile;
}
