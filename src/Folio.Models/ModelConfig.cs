namespace Folio.Models;

/// <summary>How rotary embeddings pair the dimensions of a head.</summary>
public enum RopeStyle
{
    /// <summary>Hugging Face layout: dimension i pairs with i + headDim/2 (rotate_half).</summary>
    RotateHalf,

    /// <summary>GGUF / original Meta layout: dimension 2i pairs with 2i+1.</summary>
    Interleaved,
}

/// <summary>Llama 3 frequency scaling ("rope_type": "llama3" in config.json).</summary>
public sealed record Llama3RopeScaling(float Factor, float LowFreqFactor, float HighFreqFactor, int OriginalMaxPositionEmbeddings);

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
    public Llama3RopeScaling? RopeScaling { get; init; }
    public RopeStyle RopeStyle { get; init; } = RopeStyle.RotateHalf;
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public int QueryGroupSize => NumHeads / NumKvHeads;
    public int QDim => NumHeads * HeadDim;
    public int KvDim => NumKvHeads * HeadDim;

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
    }
}
