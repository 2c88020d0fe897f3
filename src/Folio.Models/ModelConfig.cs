namespace Folio.Models;

/// <summary>How rotary embeddings pair the dimensions of a head.</summary>
public enum RopeStyle
{
    /// <summary>Hugging Face layout: dimension i pairs with i + headDim/2 (rotate_half).</summary>
    RotateHalf,

    /// <summary>GGUF / original Meta layout: dimension 2i pairs with 2i+1.</summary>
    Interleaved,
}

/// <summary>The MLP's gate activation: SwiGLU (silu) or GeGLU with the tanh approximation of gelu (Gemma).</summary>
public enum MlpActivation
{
    Silu,
    GeluTanh,
}

/// <summary>
/// The shape of a Llama-family decoder. Everything the forward pass needs to know about a model,
/// whichever file format it came from.
/// </summary>
public sealed record ModelConfig
{
    public required string Architecture { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int IntermediateSize { get; init; }
    public required int VocabSize { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public float RmsNormEps { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
    public RotaryScaling? RopeScaling { get; init; }

    /// <summary>
    /// Leading dimensions of each head that rope rotates (Phi-3's partial_rotary_factor, GGUF
    /// rope.dimension_count); the rest pass through. Null rotates the whole head.
    /// </summary>
    public int? RotaryDimensions { get; init; }

    /// <summary>The number of rotated dimensions of a head.</summary>
    public int RotaryDim => RotaryDimensions ?? HeadDim;
    public RopeStyle RopeStyle { get; init; } = RopeStyle.RotateHalf;
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    /// <summary>Per-head RMSNorm of q and k before rope (Qwen3, Gemma 3): tensors self_attn.q_norm / k_norm of [HeadDim].</summary>
    public bool QkNorm { get; init; }

    /// <summary>Added to every RMSNorm weight as stored (Gemma's Hugging Face checkpoints keep w and apply 1 + w; llama.cpp's converter stores 1 + w, so GGUF files have 0 here).</summary>
    public float NormWeightOffset { get; init; }

    public MlpActivation Activation { get; init; } = MlpActivation.Silu;

    /// <summary>Embeddings are multiplied by this (Gemma: sqrt(hidden_size)); 1 for the rest.</summary>
    public float EmbeddingScale { get; init; } = 1f;

    /// <summary>
    /// Gemma 2/3's four norms a layer: post_attention_layernorm normalises the attention output before
    /// its residual add, pre_feedforward_layernorm feeds the MLP, post_feedforward_layernorm
    /// normalises the MLP output before its residual add.
    /// </summary>
    public bool SandwichNorms { get; init; }

    /// <summary>Attention scores s become cap · tanh(s / cap) (Gemma 2's attn_logit_softcapping); null for none.</summary>
    public float? AttentionLogitSoftcap { get; init; }

    /// <summary>Logits z become cap · tanh(z / cap) (Gemma 2's final_logit_softcapping); null for none.</summary>
    public float? FinalLogitSoftcap { get; init; }

    /// <summary>The factor on q·k; null means 1/sqrt(HeadDim) (Gemma: query_pre_attn_scalar^-0.5).</summary>
    public float? AttentionScale { get; init; }

    /// <summary>Keys a local layer sees, the query's own included (a query at p reads p - window + 1 .. p); null when no layer is local.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>
    /// Which layers are local when <see cref="SlidingWindow"/> is set: layer i is global when
    /// (i + 1) % pattern == 0, local otherwise (Gemma 2: 2, Gemma 3: 6; 1 makes every layer local).
    /// </summary>
    public int SlidingWindowPattern { get; init; } = 1;

    /// <summary>
    /// Layers below this one are global whatever <see cref="SlidingWindowPattern"/> says (Qwen2 and
    /// Qwen3 with use_sliding_window window only layers &gt;= max_window_layers); 0 elsewhere.
    /// </summary>
    public int FirstLocalLayer { get; init; }

    /// <summary>The rope base of local layers (Gemma 3's rope_local_base_freq); null uses <see cref="RopeTheta"/>.</summary>
    public float? RopeLocalTheta { get; init; }

    /// <summary>Experts of each layer's sparse MLP (Mixtral, Qwen3-MoE); 0 for a dense MLP.</summary>
    public int NumExperts { get; init; }

    /// <summary>Experts each token is routed to (top-k of the router's softmax).</summary>
    public int NumExpertsPerToken { get; init; }

    /// <summary>Each expert's intermediate size (Qwen3-MoE's moe_intermediate_size; Mixtral's intermediate_size).</summary>
    public int ExpertIntermediateSize { get; init; }

    /// <summary>Whether the top-k routing weights are divided by their sum (Mixtral always; Qwen3-MoE's norm_topk_prob).</summary>
    public bool NormTopKProb { get; init; } = true;

    public bool IsMoe => NumExperts > 0;

    /// <summary>
    /// Layers of a mixture-of-experts model whose MLP is dense, of <see cref="IntermediateSize"/>
    /// (Qwen2/3-MoE's mlp_only_layers and decoder_sparse_step; in GGUF, the layers without
    /// ffn_gate_inp); empty when every layer is sparse.
    /// </summary>
    public IReadOnlyList<int> DenseMlpLayers { get; init; } = [];

    /// <summary>
    /// The intermediate size of the shared expert every token of a sparse layer also runs (Qwen2-MoE's
    /// shared_expert_intermediate_size; GGUF ffn_*_shexp), its output scaled by sigmoid of its own
    /// one-row gate (shared_expert_gate, GGUF ffn_gate_inp_shexp); 0 without.
    /// </summary>
    public int SharedExpertIntermediateSize { get; init; }

    /// <summary>Whether layer <paramref name="layer"/>'s MLP is the mixture of experts (else a dense MLP).</summary>
    public bool IsSparseLayer(int layer) => IsMoe && !DenseMlpLayers.Contains(layer);

    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public int QueryGroupSize => NumHeads / NumKvHeads;
    public int QDim => NumHeads * HeadDim;
    public int KvDim => NumKvHeads * HeadDim;

    /// <summary>The factor attention applies to q·k.</summary>
    public float EffectiveAttentionScale => AttentionScale ?? 1f / MathF.Sqrt(HeadDim);

    /// <summary>Whether layer <paramref name="layer"/> attends only over its sliding window.</summary>
    public bool IsLocalLayer(int layer) => SlidingWindow is not null && layer >= FirstLocalLayer && (SlidingWindowPattern <= 1 || (layer + 1) % SlidingWindowPattern != 0);

    /// <summary>
    /// The window when every layer is local (Mistral, Phi-3, a fully windowed Qwen2), else null. Only
    /// then can the KV cache drop blocks that fell out of the window: a global layer still reads them.
    /// </summary>
    public int? WindowOfEveryLayer
    {
        get
        {
            if (SlidingWindow is not int window)
            {
                return null;
            }

            for (int layer = 0; layer < NumLayers; layer++)
            {
                if (!IsLocalLayer(layer))
                {
                    return null;
                }
            }

            return window;
        }
    }

    /// <summary>
    /// The parts of this configuration beyond the Llama decoder (Llama, Mistral, Qwen2), by name; a
    /// backend that implements only that decoder refuses a model for which this is not empty.
    /// </summary>
    public IReadOnlyList<string> BeyondLlama()
    {
        var list = new List<string>();
        if (QkNorm)
        {
            list.Add("q/k norms");
        }

        if (NormWeightOffset != 0)
        {
            list.Add("RMSNorm (1 + w)");
        }

        if (Activation != MlpActivation.Silu)
        {
            list.Add($"{Activation} MLP");
        }

        if (EmbeddingScale != 1f)
        {
            list.Add("scaled embeddings");
        }

        if (SandwichNorms)
        {
            list.Add("post-attention and post-MLP norms");
        }

        if (AttentionLogitSoftcap is not null || FinalLogitSoftcap is not null)
        {
            list.Add("logit soft-capping");
        }

        if (AttentionScale is not null)
        {
            list.Add("a custom attention scale");
        }

        if (SlidingWindow is not null)
        {
            list.Add("sliding-window attention");
        }

        if (IsMoe)
        {
            list.Add("mixture of experts");
        }

        if (IsMoe && SharedExpertIntermediateSize > 0)
        {
            list.Add("shared experts");
        }

        if (IsMoe && DenseMlpLayers.Count > 0)
        {
            list.Add("dense layers between sparse ones");
        }

        if (RotaryDim != HeadDim)
        {
            list.Add("partial rotary embeddings");
        }

        // Llama 3, linear and dynamic NTK change only the frequencies every backend takes from
        // RopeFrequencies; YaRN and LongRoPE also scale cos and sin.
        if (RopeScaling is YarnRopeScaling or LongRopeScaling)
        {
            list.Add($"{RopeScaling.TypeName} rope scaling");
        }

        return list;
    }

    /// <summary>Throws with a message naming the field when the shape cannot be a valid decoder.</summary>
    public void Validate(string source)
    {
        void Require(bool ok, string what)
        {
            if (!ok)
            {
                throw new ModelFormatException($"{source}: invalid model configuration: {what}");
            }
        }

        Require(HiddenSize > 0, $"hidden_size must be > 0 (got {HiddenSize})");
        Require(NumLayers > 0, $"num_hidden_layers must be > 0 (got {NumLayers})");
        Require(NumHeads > 0, $"num_attention_heads must be > 0 (got {NumHeads})");
        Require(NumKvHeads > 0 && NumHeads % NumKvHeads == 0, $"num_key_value_heads ({NumKvHeads}) must divide num_attention_heads ({NumHeads})");
        Require(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim must be even and > 0 (got {HeadDim})");
        Require(IntermediateSize > 0, $"intermediate_size must be > 0 (got {IntermediateSize})");
        Require(VocabSize > 0, $"vocab_size must be > 0 (got {VocabSize})");
        Require(MaxPositionEmbeddings > 0, $"max_position_embeddings must be > 0 (got {MaxPositionEmbeddings})");
        Require(SlidingWindow is null or > 0, $"sliding_window must be > 0 (got {SlidingWindow})");
        Require(SlidingWindowPattern > 0, $"the sliding window pattern must be > 0 (got {SlidingWindowPattern})");
        Require(FirstLocalLayer >= 0, $"max_window_layers must be >= 0 (got {FirstLocalLayer})");
        Require(AttentionLogitSoftcap is null or > 0, $"attn_logit_softcapping must be > 0 (got {AttentionLogitSoftcap})");
        Require(FinalLogitSoftcap is null or > 0, $"final_logit_softcapping must be > 0 (got {FinalLogitSoftcap})");
        Require(NumExperts >= 0 && (NumExperts == 0 || (NumExpertsPerToken > 0 && NumExpertsPerToken <= NumExperts)), $"num_experts_per_tok ({NumExpertsPerToken}) must be between 1 and the number of experts ({NumExperts})");
        Require(NumExperts == 0 || ExpertIntermediateSize > 0, $"the experts' intermediate size must be > 0 (got {ExpertIntermediateSize})");
        Require(SharedExpertIntermediateSize >= 0, $"shared_expert_intermediate_size must be >= 0 (got {SharedExpertIntermediateSize})");
        Require(DenseMlpLayers.All(l => l >= 0 && l < NumLayers), $"mlp_only_layers ({string.Join(", ", DenseMlpLayers)}) must name layers 0..{NumLayers - 1}");
        Require(AttentionScale is null or > 0, $"query_pre_attn_scalar must be > 0 (got {AttentionScale})");
        Require(RotaryDim > 0 && RotaryDim % 2 == 0 && RotaryDim <= HeadDim, $"the rotary dimensions (partial_rotary_factor x head_dim) must be even and between 2 and head_dim {HeadDim} (got {RotaryDim})");
        if (RopeScaling is LongRopeScaling longRope)
        {
            Require(longRope.ShortFactor.Count == RotaryDim / 2 && longRope.LongFactor.Count == RotaryDim / 2, $"rope_scaling short_factor and long_factor must each hold {RotaryDim / 2} values (half the rotary dimensions; got {longRope.ShortFactor.Count} and {longRope.LongFactor.Count})");
            Require(longRope.ShortFactor.Concat(longRope.LongFactor).All(f => f > 0 && float.IsFinite(f)), "rope_scaling short_factor and long_factor must be finite and > 0");
            Require(longRope.OriginalMaxPositionEmbeddings > 0, $"original_max_position_embeddings must be > 0 (got {longRope.OriginalMaxPositionEmbeddings})");
        }

        switch (RopeScaling)
        {
            case LinearRopeScaling l:
                Require(l.Factor > 0, $"rope_scaling factor must be > 0 (got {l.Factor})");
                break;
            case DynamicNtkRopeScaling d:
                Require(d.Factor >= 1 && d.OriginalMaxPositionEmbeddings > 0, $"rope_scaling factor must be >= 1 for dynamic scaling (got {d.Factor})");
                Require(RotaryDim > 2, "dynamic rope scaling needs more than 2 rotary dimensions");
                break;
            case YarnRopeScaling y:
                Require(y.Factor > 0 && y.OriginalMaxPositionEmbeddings > 0, $"rope_scaling factor and original_max_position_embeddings must be > 0 for yarn (got {y.Factor}, {y.OriginalMaxPositionEmbeddings})");
                Require(y.BetaFast > 0 && y.BetaSlow > 0 && y.AttentionFactor > 0, $"rope_scaling beta_fast, beta_slow and attention_factor must be > 0 (got {y.BetaFast}, {y.BetaSlow}, {y.AttentionFactor})");
                break;
        }
    }
}
