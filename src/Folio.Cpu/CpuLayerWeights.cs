namespace Folio.Cpu;

/// <summary>One decoder layer's weights, packed for the GEMM kernels (f32 panels or repacked quantized blocks).</summary>
internal sealed unsafe class CpuLayerWeights : IDisposable
{
    public required NativeBuffer InputNorm { get; init; }
    /// <summary>The norm before the MLP (post_attention_layernorm in Llama, pre_feedforward_layernorm in Gemma).</summary>
    public required NativeBuffer PostAttentionNorm { get; init; }

    /// <summary>Per-head norms of q and k before rope (Qwen3, Gemma 3), [HeadDim] each; null without.</summary>
    public NativeBuffer? QNorm { get; init; }

    public NativeBuffer? KNorm { get; init; }

    /// <summary>Gemma's norms of the attention output and of the MLP output before their residual adds; null without.</summary>
    public NativeBuffer? AttentionOutNorm { get; init; }

    public NativeBuffer? MlpOutNorm { get; init; }

    /// <summary>Whether this layer attends only over the model's sliding window.</summary>
    public bool Local { get; init; }

    /// <summary>Whether this layer rotates with the local rope base (Gemma 3's rope_local_base_freq).</summary>
    public bool LocalRope { get; init; }

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
        QNorm?.Dispose();
        KNorm?.Dispose();
        AttentionOutNorm?.Dispose();
        MlpOutNorm?.Dispose();
        Qkv.Dispose();
        O.Dispose();
        GateUp.Dispose();
        Down.Dispose();
        KCache.Dispose();
        VCache.Dispose();
    }
}
