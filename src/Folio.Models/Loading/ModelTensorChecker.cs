using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>One tensor a Llama-family decoder needs: canonical Hugging Face name and outermost-first shape.</summary>
public sealed record ExpectedTensor(string Name, long[] Shape, string Why)
{
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// The list of tensors (canonical names, shapes) a <see cref="ModelConfig"/> implies, and the check
/// that a loaded model has each of them with that shape and a consistent byte length. Loaders run it
/// before handing a model out, so backends may index weights without re-checking.
/// </summary>
public static class ModelTensorChecker
{
    public static string LayerPrefix(int layer) => $"model.layers.{layer}.";

    /// <summary>Every tensor the config requires (lm_head only when embeddings are not tied).</summary>
    public static IReadOnlyList<ExpectedTensor> Expected(ModelConfig c)
    {
        long h = c.HiddenSize, q = c.QDim, kv = c.KvDim, ffn = c.IntermediateSize, v = c.VocabSize;
        string hs = $"hidden_size={h}", vs = $"vocab_size={v}";
        var list = new List<ExpectedTensor>
        {
            new("model.embed_tokens.weight", [v, h], $"[{vs}, {hs}]"),
        };
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = LayerPrefix(i);
            list.Add(new(p + "input_layernorm.weight", [h], $"[{hs}]"));
            list.Add(new(p + "self_attn.q_proj.weight", [q, h], $"[num_attention_heads*head_dim={q}, {hs}]"));
            list.Add(new(p + "self_attn.k_proj.weight", [kv, h], $"[num_key_value_heads*head_dim={kv}, {hs}]"));
            list.Add(new(p + "self_attn.v_proj.weight", [kv, h], $"[num_key_value_heads*head_dim={kv}, {hs}]"));
            if (c.AttentionBias)
            {
                list.Add(new(p + "self_attn.q_proj.bias", [q], $"[num_attention_heads*head_dim={q}]"));
                list.Add(new(p + "self_attn.k_proj.bias", [kv], $"[num_key_value_heads*head_dim={kv}]"));
                list.Add(new(p + "self_attn.v_proj.bias", [kv], $"[num_key_value_heads*head_dim={kv}]"));
            }

            if (c.QkNorm)
            {
                list.Add(new(p + "self_attn.q_norm.weight", [c.HeadDim], $"[head_dim={c.HeadDim}]"));
                list.Add(new(p + "self_attn.k_norm.weight", [c.HeadDim], $"[head_dim={c.HeadDim}]"));
            }

            list.Add(new(p + "self_attn.o_proj.weight", [h, q], $"[{hs}, num_attention_heads*head_dim={q}]"));
            list.Add(new(p + "post_attention_layernorm.weight", [h], $"[{hs}]"));
            if (c.SandwichNorms)
            {
                list.Add(new(p + "pre_feedforward_layernorm.weight", [h], $"[{hs}]"));
                list.Add(new(p + "post_feedforward_layernorm.weight", [h], $"[{hs}]"));
            }

            if (c.IsSparseLayer(i))
            {
                long ef = c.ExpertIntermediateSize;
                list.Add(new(p + "mlp.gate.weight", [c.NumExperts, h], $"[num_experts={c.NumExperts}, {hs}]"));
                for (int e = 0; e < c.NumExperts; e++)
                {
                    string x = $"{p}mlp.experts.{e}.";
                    list.Add(new(x + "gate_proj.weight", [ef, h], $"[moe_intermediate_size={ef}, {hs}]"));
                    list.Add(new(x + "up_proj.weight", [ef, h], $"[moe_intermediate_size={ef}, {hs}]"));
                    list.Add(new(x + "down_proj.weight", [h, ef], $"[{hs}, moe_intermediate_size={ef}]"));
                }

                if (c.SharedExpertIntermediateSize > 0)
                {
                    long sf = c.SharedExpertIntermediateSize;
                    string x = $"{p}mlp.shared_expert.";
                    list.Add(new(x + "gate_proj.weight", [sf, h], $"[shared_expert_intermediate_size={sf}, {hs}]"));
                    list.Add(new(x + "up_proj.weight", [sf, h], $"[shared_expert_intermediate_size={sf}, {hs}]"));
                    list.Add(new(x + "down_proj.weight", [h, sf], $"[{hs}, shared_expert_intermediate_size={sf}]"));
                    list.Add(new(p + "mlp.shared_expert_gate.weight", [1, h], $"[1, {hs}]"));
                }

                continue;
            }

            list.Add(new(p + "mlp.gate_proj.weight", [ffn, h], $"[intermediate_size={ffn}, {hs}]"));
            list.Add(new(p + "mlp.up_proj.weight", [ffn, h], $"[intermediate_size={ffn}, {hs}]"));
            list.Add(new(p + "mlp.down_proj.weight", [h, ffn], $"[{hs}, intermediate_size={ffn}]"));
        }

        list.Add(new("model.norm.weight", [h], $"[{hs}]"));
        if (!c.TieWordEmbeddings)
        {
            list.Add(new("lm_head.weight", [v, h], $"[{vs}, {hs}]"));
        }

        return list;
    }

    /// <summary>Throws a <see cref="ModelFormatException"/> naming the file, the tensor and the expected shape for the first mismatch.</summary>
    public static void Check(string source, ModelConfig config, IReadOnlyDictionary<string, TensorView> tensors)
    {
        foreach (var e in Expected(config))
        {
            if (!tensors.TryGetValue(e.Name, out var t))
            {
                throw new ModelFormatException($"{source}: tensor '{e.Name}' is missing; expected shape {e.ShapeText} = {e.Why}");
            }

            CheckOne(t, e);
        }

        // A tied model may still carry an lm_head copy; if it does, it must fit too.
        if (config.TieWordEmbeddings && tensors.TryGetValue("lm_head.weight", out var head))
        {
            CheckOne(head, new ExpectedTensor("lm_head.weight", [config.VocabSize, config.HiddenSize], $"[vocab_size={config.VocabSize}, hidden_size={config.HiddenSize}]"));
        }
    }

    public static void Check(LoadedModel model) => Check(model.Source, model.Config, model.Tensors);

    private static void CheckOne(TensorView t, ExpectedTensor e)
    {
        if (!t.Shape.AsSpan().SequenceEqual(e.Shape))
        {
            throw new ModelFormatException($"{t.File}: tensor '{e.Name}' has shape {t.ShapeText}; expected {e.ShapeText} = {e.Why}");
        }

        var layout = QuantLayouts.Of(t.DType);
        long bytes = DTypeConversion.ByteLength(t.DType, t.ElementCount);
        if (bytes < 0 || t.Shape[^1] % layout.Values != 0)
        {
            throw new ModelFormatException($"{t.File}: tensor '{e.Name}' is {QuantLayouts.Name(t.DType)} but its row length {t.Shape[^1]} is not a multiple of its block of {layout.Values} values");
        }

        if (bytes != t.ByteLength)
        {
            throw new ModelFormatException($"{t.File}: tensor '{e.Name}' holds {t.ByteLength} bytes; {QuantLayouts.Name(t.DType)} {e.ShapeText} needs {bytes}");
        }
    }
}
