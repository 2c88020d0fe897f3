using System.Globalization;

namespace Folio.Models.Loading;

/// <summary>
/// GGUF (llama.cpp) tensor names to canonical Hugging Face names and back, for the Llama layout
/// and its relatives (Qwen3's q/k norms; Gemma 2/3's four norms a layer, where llama.cpp's ffn_norm
/// is the pre-MLP norm Hugging Face calls pre_feedforward_layernorm).
/// </summary>
public static class GgufTensorNames
{
    /// <summary>llama.cpp's precomputed Llama 3 rope frequency factors (kept under its GGUF name).</summary>
    public const string RopeFreqs = "rope_freqs.weight";

    private static readonly (string Gguf, string Hf)[] Globals =
    [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
    ];

    private static readonly (string Gguf, string Hf)[] PerLayer =
    [
        ("attn_norm.weight", "input_layernorm.weight"),
        ("attn_q.weight", "self_attn.q_proj.weight"),
        ("attn_k.weight", "self_attn.k_proj.weight"),
        ("attn_v.weight", "self_attn.v_proj.weight"),
        ("attn_qkv.weight", "self_attn.qkv_proj.weight"),
        ("attn_q.bias", "self_attn.q_proj.bias"),
        ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.bias", "self_attn.v_proj.bias"),
        ("attn_q_norm.weight", "self_attn.q_norm.weight"),
        ("attn_k_norm.weight", "self_attn.k_norm.weight"),
        ("attn_output.weight", "self_attn.o_proj.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"),
        ("ffn_up.weight", "mlp.up_proj.weight"),
        ("ffn_down.weight", "mlp.down_proj.weight"),
        ("ffn_gate_inp.weight", "mlp.gate.weight"),
        ("ffn_gate_shexp.weight", "mlp.shared_expert.gate_proj.weight"),
        ("ffn_up_shexp.weight", "mlp.shared_expert.up_proj.weight"),
        ("ffn_down_shexp.weight", "mlp.shared_expert.down_proj.weight"),
        ("ffn_gate_inp_shexp.weight", "mlp.shared_expert_gate.weight"),
    ];

    /// <summary>llama.cpp stacks a layer's experts in one 3-D tensor per projection: [experts, rows, cols] outermost first.</summary>
    private static readonly (string Gguf, string Hf)[] ExpertStacks =
    [
        ("ffn_gate_exps.weight", "gate_proj.weight"),
        ("ffn_up_exps.weight", "up_proj.weight"),
        ("ffn_down_exps.weight", "down_proj.weight"),
    ];

    /// <summary>When <paramref name="ggufName"/> is a stack of experts: its layer and the canonical name of expert e is <c>model.layers.{layer}.mlp.experts.{e}.{projection}</c>.</summary>
    public static bool TryExpertStack(string ggufName, out int layer, out string projection)
    {
        layer = -1;
        projection = "";
        if (!ggufName.StartsWith("blk.", StringComparison.Ordinal))
        {
            return false;
        }

        int dot = ggufName.IndexOf('.', 4);
        if (dot < 0 || !int.TryParse(ggufName.AsSpan(4, dot - 4), NumberStyles.None, CultureInfo.InvariantCulture, out layer))
        {
            return false;
        }

        string rest = ggufName[(dot + 1)..];
        foreach (var (g, h) in ExpertStacks)
        {
            if (g == rest)
            {
                projection = h;
                return true;
            }
        }

        return false;
    }

    /// <summary>The GGUF stack name of a layer's experts for one projection (gate_proj/up_proj/down_proj.weight).</summary>
    public static string ExpertStackName(int layer, string projection) =>
        $"blk.{layer}.{ExpertStacks.First(x => x.Hf == projection).Gguf}";

    /// <summary>The norms of a Llama layer: attention, then one before the MLP.</summary>
    private static readonly (string Gguf, string Hf)[] LlamaNorms =
    [
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ];

    /// <summary>Gemma 2/3: a norm after attention and after the MLP as well as before each.</summary>
    private static readonly (string Gguf, string Hf)[] SandwichNorms =
    [
        ("post_attention_norm.weight", "post_attention_layernorm.weight"),
        ("ffn_norm.weight", "pre_feedforward_layernorm.weight"),
        ("post_ffw_norm.weight", "post_feedforward_layernorm.weight"),
    ];

    /// <summary>The canonical name, or null for a tensor Folio does not map (kept under its GGUF name).</summary>
    public static string? ToHuggingFace(string ggufName, bool sandwichNorms = false)
    {
        foreach (var (g, h) in Globals)
        {
            if (g == ggufName)
            {
                return h;
            }
        }

        if (!ggufName.StartsWith("blk.", StringComparison.Ordinal))
        {
            return null;
        }

        int dot = ggufName.IndexOf('.', 4);
        if (dot < 0 || !int.TryParse(ggufName.AsSpan(4, dot - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
        {
            return null;
        }

        string rest = ggufName[(dot + 1)..];
        foreach (var (g, h) in PerLayer.Concat(sandwichNorms ? SandwichNorms : LlamaNorms))
        {
            if (g == rest)
            {
                return $"model.layers.{layer}.{h}";
            }
        }

        return null;
    }

    /// <summary>The GGUF name of a canonical tensor, or null when llama.cpp has no counterpart.</summary>
    public static string? ToGguf(string hfName, bool sandwichNorms = false)
    {
        foreach (var (g, h) in Globals)
        {
            if (h == hfName)
            {
                return g;
            }
        }

        const string prefix = "model.layers.";
        if (!hfName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        int dot = hfName.IndexOf('.', prefix.Length);
        if (dot < 0 || !int.TryParse(hfName.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
        {
            return null;
        }

        string rest = hfName[(dot + 1)..];
        foreach (var (g, h) in PerLayer.Concat(sandwichNorms ? SandwichNorms : LlamaNorms))
        {
            if (h == rest)
            {
                return $"blk.{layer}.{g}";
            }
        }

        return null;
    }
}
