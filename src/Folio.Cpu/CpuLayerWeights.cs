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

    /// <summary>
    /// gate and up projections fused: [2 IntermediateSize, HiddenSize] (for a MoE layer, the router
    /// [NumExperts, HiddenSize], with the shared expert's one-row gate as row NumExperts when it has one).
    /// </summary>
    public required LinearWeight GateUp { get; init; }

    /// <summary>The down projection; for a MoE layer, null.</summary>
    public LinearWeight? Down { get; init; }

    /// <summary>A MoE layer's experts: gate and up fused [2 F, HiddenSize] each; null for a dense MLP.</summary>
    public LinearWeight[]? ExpertGateUp { get; init; }

    /// <summary>A MoE layer's experts' down projections [HiddenSize, F].</summary>
    public LinearWeight[]? ExpertDown { get; init; }

    /// <summary>A sparse layer's shared expert (Qwen2-MoE): gate and up fused [2 Fs, HiddenSize]; null without.</summary>
    public LinearWeight? SharedGateUp { get; init; }

    /// <summary>The shared expert's down projection [HiddenSize, Fs].</summary>
    public LinearWeight? SharedDown { get; init; }

    /// <summary>Every linear weight of the layer (for byte counts).</summary>
    public IEnumerable<LinearWeight> AllLinear()
    {
        yield return Qkv;
        yield return O;
        yield return GateUp;
        if (Down is not null)
        {
            yield return Down;
        }

        foreach (var w in (ExpertGateUp ?? []).Concat(ExpertDown ?? []))
        {
            yield return w;
        }

        if (SharedGateUp is not null && SharedDown is not null)
        {
            yield return SharedGateUp;
            yield return SharedDown;
        }
    }

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
        Down?.Dispose();
        foreach (var w in (ExpertGateUp ?? []).Concat(ExpertDown ?? []))
        {
            w.Dispose();
        }

        SharedGateUp?.Dispose();
        SharedDown?.Dispose();

        KCache.Dispose();
        VCache.Dispose();
    }
}
