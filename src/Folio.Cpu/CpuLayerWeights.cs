namespace Folio.Cpu;

/// <summary>One decoder layer's weights, packed for the GEMM kernels (f32 panels or repacked quantized blocks).</summary>
internal sealed unsafe class CpuLayerWeights : IDisposable
{
    public required NativeBuffer InputNorm { get; init; }
    public required NativeBuffer PostAttentionNorm { get; init; }

    /// <summary>q, k and v projections fused: [QDim + 2 KvDim, HiddenSize], with their biases when the model has them.</summary>
    public required LinearWeight Qkv { get; init; }

    public required LinearWeight O { get; init; }

    /// <summary>gate and up projections fused: [2 IntermediateSize, HiddenSize].</summary>
    public required LinearWeight GateUp { get; init; }

    public required LinearWeight Down { get; init; }

    /// <summary>[numBlocks, blockSize, numKvHeads, headDim] K cache.</summary>
    public required NativeBuffer KCache { get; init; }

    /// <summary>[numBlocks, blockSize, numKvHeads, headDim] V cache.</summary>
    public required NativeBuffer VCache { get; init; }

    public void Dispose()
    {
        InputNorm.Dispose();
        PostAttentionNorm.Dispose();
        Qkv.Dispose();
        O.Dispose();
        GateUp.Dispose();
        Down.Dispose();
        KCache.Dispose();
        VCache.Dispose();
    }
}
