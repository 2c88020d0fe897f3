namespace Folio.Models;

/// <summary>
/// How a model stretches its rotary embedding beyond the context it was trained on: the kinds
/// Hugging Face's rope_scaling names (rope_type) and GGUF's rope.scaling.type or rope factor tensors.
/// Each kind changes the inverse frequencies (<see cref="RopeFrequencies.Inverse(ModelConfig)"/>); YaRN
/// and LongRoPE also scale cos and sin by an attention factor.
/// </summary>
public abstract record RotaryScaling
{
    /// <summary>The name config.json's rope_type uses for this kind (for messages).</summary>
    public abstract string TypeName { get; }
}

/// <summary>Llama 3 frequency scaling ("rope_type": "llama3" in config.json).</summary>
public sealed record Llama3RopeScaling(float Factor, float LowFreqFactor, float HighFreqFactor, int OriginalMaxPositionEmbeddings) : RotaryScaling
{
    public override string TypeName => "llama3";
}

/// <summary>Position interpolation: every frequency divided by <paramref name="Factor"/> ("linear").</summary>
public sealed record LinearRopeScaling(float Factor) : RotaryScaling
{
    public override string TypeName => "linear";
}

/// <summary>
/// Dynamic NTK ("dynamic"): the rope base grows with the sequence length. Hugging Face recomputes it
/// whenever a forward pass runs past <paramref name="OriginalMaxPositionEmbeddings"/>, which would
/// make a token's logits depend on how long its batch's sequences are; Folio fixes the base once at
/// the length original × factor, as vLLM does, so every position always rotates the same way.
/// </summary>
public sealed record DynamicNtkRopeScaling(float Factor, int OriginalMaxPositionEmbeddings) : RotaryScaling
{
    public override string TypeName => "dynamic";
}

/// <summary>
/// YaRN ("yarn"): frequencies blended between interpolated (divided by factor) and original by a ramp
/// over the dimensions whose wavelength falls between beta_slow and beta_fast rotations of the
/// original context; cos and sin scaled by <paramref name="AttentionFactor"/> (0.1 ln(factor) + 1 by
/// default). <paramref name="Truncate"/> rounds the ramp's ends to whole dimensions (transformers' default).
/// </summary>
public sealed record YarnRopeScaling(float Factor, int OriginalMaxPositionEmbeddings, float BetaFast, float BetaSlow, float AttentionFactor, bool Truncate = true) : RotaryScaling
{
    public override string TypeName => "yarn";

    /// <summary>The attention factor YaRN's paper suggests, as transformers' get_mscale computes it.</summary>
    public static float DefaultAttentionFactor(double factor, double mscale = 1) => factor <= 1 ? 1f : (float)((0.1 * mscale * Math.Log(factor)) + 1.0);
}

/// <summary>
/// LongRoPE ("longrope", formerly "su"; Phi-3): each rotary frequency divided by its own factor, the
/// short set for a context within <paramref name="OriginalMaxPositionEmbeddings"/> and the long set
/// beyond it; cos and sin scaled by <paramref name="AttentionFactor"/>.
/// </summary>
public sealed record LongRopeScaling(IReadOnlyList<float> ShortFactor, IReadOnlyList<float> LongFactor, int OriginalMaxPositionEmbeddings, float AttentionFactor) : RotaryScaling
{
    public override string TypeName => "longrope";

    /// <summary>sqrt(1 + ln(scale) / ln(original)) for scale = context / original, 1 when the context is not longer (transformers and llama.cpp's converter).</summary>
    public static float DefaultAttentionFactor(double scale, int originalMaxPositionEmbeddings) =>
        scale <= 1 ? 1f : (float)Math.Sqrt(1 + (Math.Log(scale) / Math.Log(originalMaxPositionEmbeddings)));

    /// <summary>
    /// The factor set a model serving <paramref name="contextLength"/> positions uses: long when the
    /// context exceeds the original one (llama.cpp's rule, by context size, so a position rotates the
    /// same way whatever the length of the sequence or batch it is in).
    /// </summary>
    public IReadOnlyList<float> FactorsFor(int contextLength) => contextLength > OriginalMaxPositionEmbeddings ? LongFactor : ShortFactor;

    public bool Equals(LongRopeScaling? other) =>
        other is not null && ShortFactor.SequenceEqual(other.ShortFactor) && LongFactor.SequenceEqual(other.LongFactor)
        && OriginalMaxPositionEmbeddings == other.OriginalMaxPositionEmbeddings && AttentionFactor.Equals(other.AttentionFactor);

    public override int GetHashCode() => HashCode.Combine(ShortFactor.Count, OriginalMaxPositionEmbeddings, AttentionFactor);
}
