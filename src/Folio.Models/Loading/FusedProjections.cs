using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// Phi-3 stores each layer's q, k and v projections as one matrix (self_attn.qkv_proj, GGUF attn_qkv:
/// rows q, then k, then v) and gate and up as one (mlp.gate_up_proj, GGUF ffn_up: gate rows first,
/// as transformers' chunk(2) and ggml's swiglu split them). The loaders split them into views of
/// their row ranges under the canonical names, so backends see a Llama layout; each part is a
/// contiguous run of whole rows (whole quantization blocks), and a GGUF's views stay memory-mapped.
/// The test-model writers fuse the other way.
/// </summary>
public static unsafe class FusedProjections
{
    public const string QkvName = "self_attn.qkv_proj.weight";
    public const string GateUpName = "mlp.gate_up_proj.weight";

    /// <summary>Whether an architecture (Hugging Face or GGUF name) stores fused projections.</summary>
    public static bool AreFused(string architecture) => architecture is "Phi3ForCausalLM" or "phi3";

    /// <summary>Replaces every layer's fused tensors by their parts; a missing or mis-shaped fused tensor is refused naming it.</summary>
    public static void Split(string source, ModelConfig c, Dictionary<string, TensorView> tensors)
    {
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = ModelTensorChecker.LayerPrefix(i);
            SplitRows(source, tensors, p + QkvName, c.HiddenSize, [(p + "self_attn.q_proj.weight", c.QDim), (p + "self_attn.k_proj.weight", c.KvDim), (p + "self_attn.v_proj.weight", c.KvDim)],
                $"[num_attention_heads*head_dim + 2*num_key_value_heads*head_dim={c.QDim + (2 * c.KvDim)}, hidden_size={c.HiddenSize}]");
            SplitRows(source, tensors, p + GateUpName, c.HiddenSize, [(p + "mlp.gate_proj.weight", c.IntermediateSize), (p + "mlp.up_proj.weight", c.IntermediateSize)],
                $"[2*intermediate_size={2 * c.IntermediateSize}, hidden_size={c.HiddenSize}]");
        }
    }

    /// <summary>The weights as a fused checkpoint stores them: each layer's q/k/v and gate/up concatenated by rows (a copy; the rest shared).</summary>
    public static Dictionary<string, float[]> Fuse(ModelConfig c, IReadOnlyDictionary<string, float[]> weights)
    {
        var fused = new Dictionary<string, float[]>(weights, StringComparer.Ordinal);
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = ModelTensorChecker.LayerPrefix(i);
            Concat(fused, p + QkvName, p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight");
            Concat(fused, p + GateUpName, p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight");
        }

        return fused;
    }

    /// <summary>The tensors a fused checkpoint stores: <see cref="ModelTensorChecker.Expected"/> with each layer's parts replaced by their fused tensor.</summary>
    public static IReadOnlyList<ExpectedTensor> ExpectedStored(ModelConfig c)
    {
        var list = new List<ExpectedTensor>();
        foreach (var e in ModelTensorChecker.Expected(c))
        {
            string? layer = LayerOf(e.Name);
            if (layer is null)
            {
                list.Add(e);
            }
            else if (e.Name.EndsWith(".self_attn.q_proj.weight", StringComparison.Ordinal))
            {
                list.Add(new(layer + QkvName, [c.QDim + (2 * c.KvDim), c.HiddenSize], "q, k and v rows"));
            }
            else if (e.Name.EndsWith(".mlp.gate_proj.weight", StringComparison.Ordinal))
            {
                list.Add(new(layer + GateUpName, [2 * c.IntermediateSize, c.HiddenSize], "gate then up rows"));
            }
            else if (!e.Name.EndsWith(".self_attn.k_proj.weight", StringComparison.Ordinal) && !e.Name.EndsWith(".self_attn.v_proj.weight", StringComparison.Ordinal) && !e.Name.EndsWith(".mlp.up_proj.weight", StringComparison.Ordinal))
            {
                list.Add(e);
            }
        }

        return list;
    }

    private static string? LayerOf(string name)
    {
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        int dot = name.IndexOf('.', prefix.Length);
        return dot < 0 ? null : name[..(dot + 1)];
    }

    private static void SplitRows(string source, Dictionary<string, TensorView> tensors, string fusedName, int cols, (string Name, int Rows)[] parts, string why)
    {
        if (!tensors.Remove(fusedName, out var fused))
        {
            throw new ModelFormatException($"{source}: tensor '{fusedName}' is missing; expected shape {why}");
        }

        long rows = parts.Sum(x => (long)x.Rows);
        if (fused.Shape.Length != 2 || fused.Shape[0] != rows || fused.Shape[1] != cols || fused.ByteLength % rows != 0)
        {
            throw new ModelFormatException($"{fused.File}: tensor '{fusedName}' has shape {fused.ShapeText}; expected {why}");
        }

        long rowBytes = fused.ByteLength / rows;
        long offset = 0;
        foreach (var (name, partRows) in parts)
        {
            var view = new TensorView(name, fused.DType, [partRows, cols], fused.Data + offset, partRows * rowBytes, fused.File) { IsFileMapped = fused.IsFileMapped };
            if (!tensors.TryAdd(name, view))
            {
                throw new ModelFormatException($"{source}: tensor '{name}' is stored both alone and inside '{fusedName}'");
            }

            offset += partRows * rowBytes;
        }
    }

    private static void Concat(Dictionary<string, float[]> weights, string fusedName, params string[] parts)
    {
        var all = new List<float>();
        foreach (string part in parts)
        {
            all.AddRange(weights[part]);
            weights.Remove(part);
        }

        weights[fusedName] = all.ToArray();
    }
}
