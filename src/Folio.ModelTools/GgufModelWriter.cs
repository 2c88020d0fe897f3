using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.ModelTools;

/// <summary>
/// Writes Hugging Face-layout weights as a llama.cpp-loadable GGUF (general.architecture "llama",
/// "qwen3", "gemma2" or "gemma3" by the config's architecture), doing what llama.cpp's
/// convert_hf_to_gguf.py does: q/k rows permuted for interleaved rope (llama only; the others rope
/// NEOX-style on unpermuted rows), 1-D tensors (norms, biases) kept in f32, tied embeddings written
/// once, Llama 3 rope scaling as a rope_freqs.weight tensor, Gemma's sliding window and soft-caps as
/// metadata, and the tokenizer as tokenizer.ggml.* metadata. Gemma norm weights must be passed as
/// applied (1 + w), as the converter stores them.
/// </summary>
public static class GgufModelWriter
{
    /// <param name="weights">f32 values by canonical name in Hugging Face layout (rotate-half q/k rows).</param>
    /// <param name="dtype">Storage of 2-D weights: F32, F16, BF16 or Q8_0 (Q8_0 needs every row length to be a multiple of 32).</param>
    public static void Write(string path, ModelConfig config, TokenizerSpec tokenizer, IReadOnlyDictionary<string, float[]> weights, DType dtype, string name = "folio-test-model")
    {
        if (config.RopeStyle != RopeStyle.RotateHalf)
        {
            throw new ArgumentException("weights must be in Hugging Face (rotate-half) layout; the writer permutes q/k itself");
        }

        string a = GgufArchitecture(config.Architecture);
        bool permute = a == "llama";
        if (config.RotaryDim != config.HeadDim && permute)
        {
            throw new ArgumentException("partial rotary test models are Phi-3 (NEOX rope on unpermuted rows)");
        }

        if (config.FirstLocalLayer > 0)
        {
            throw new ArgumentException("GGUF has no key for max_window_layers (windows on upper layers only); write this model as a Hugging Face folder");
        }

        var w = new GgufWriter();
        w.AddString("general.architecture", a);
        w.AddString("general.name", name);
        w.AddUInt32("general.file_type", dtype switch { DType.F32 => 0u, DType.F16 => 1u, DType.Q8_0 => 7u, DType.BF16 => 32u, _ => 0u });
        w.AddUInt32($"{a}.vocab_size", (uint)config.VocabSize);
        w.AddUInt32($"{a}.context_length", (uint)config.MaxPositionEmbeddings);
        w.AddUInt32($"{a}.embedding_length", (uint)config.HiddenSize);
        w.AddUInt32($"{a}.block_count", (uint)config.NumLayers);
        w.AddUInt32($"{a}.feed_forward_length", (uint)config.IntermediateSize);
        w.AddUInt32($"{a}.attention.head_count", (uint)config.NumHeads);
        w.AddUInt32($"{a}.attention.head_count_kv", (uint)config.NumKvHeads);
        w.AddUInt32($"{a}.attention.key_length", (uint)config.HeadDim);
        w.AddUInt32($"{a}.attention.value_length", (uint)config.HeadDim);
        w.AddUInt32($"{a}.rope.dimension_count", (uint)config.RotaryDim);
        w.AddFloat32($"{a}.rope.freq_base", config.RopeTheta);
        w.AddFloat32($"{a}.attention.layer_norm_rms_epsilon", config.RmsNormEps);
        if (config.IsMoe)
        {
            // llama.cpp's llama and qwen3moe graphs renormalise the top-k routing weights, its qwen2moe graph never does.
            if (config.NormTopKProb != (a != "qwen2moe"))
            {
                throw new ArgumentException($"llama.cpp's {a} graph {(a == "qwen2moe" ? "never renormalises" : "always renormalises")} the top-k routing weights; a GGUF needs norm_topk_prob {(a != "qwen2moe").ToString().ToLowerInvariant()}");
            }

            w.AddUInt32($"{a}.expert_count", (uint)config.NumExperts);
            w.AddUInt32($"{a}.expert_used_count", (uint)config.NumExpertsPerToken);
            w.AddUInt32($"{a}.expert_feed_forward_length", (uint)config.ExpertIntermediateSize);
            if (config.SharedExpertIntermediateSize > 0)
            {
                w.AddUInt32($"{a}.expert_shared_feed_forward_length", (uint)config.SharedExpertIntermediateSize);
            }
        }

        if (config.SlidingWindow is int window)
        {
            w.AddUInt32($"{a}.attention.sliding_window", (uint)window);
            w.AddUInt32($"{a}.attention.sliding_window_pattern", (uint)config.SlidingWindowPattern);
        }

        if (config.AttentionLogitSoftcap is float attnCap)
        {
            w.AddFloat32($"{a}.attn_logit_softcapping", attnCap);
        }

        if (config.FinalLogitSoftcap is float finalCap)
        {
            w.AddFloat32($"{a}.final_logit_softcapping", finalCap);
        }

        if (config.RopeLocalTheta is float localTheta)
        {
            w.AddFloat32($"{a}.rope.freq_base_swa", localTheta);
        }
        WriteRopeScaling(w, a, config);
        if (config.RopeScaling is Llama3RopeScaling s)
        {
            w.AddFloat32(GgufLoader.Llama3FactorKey, s.Factor);
            w.AddFloat32(GgufLoader.Llama3LowFreqKey, s.LowFreqFactor);
            w.AddFloat32(GgufLoader.Llama3HighFreqKey, s.HighFreqFactor);
            w.AddUInt32(GgufLoader.Llama3OriginalContextKey, (uint)s.OriginalMaxPositionEmbeddings);
        }

        GgufTokenizerMetadataWriter.Write(w, tokenizer);

        if (config.RopeScaling is Llama3RopeScaling scaling)
        {
            var factors = Llama3RopeFactors.Compute(config.HeadDim, config.RopeTheta, scaling);
            w.AddTensor(GgufTensorNames.RopeFreqs, GgmlType.F32, [factors.Length], DTypeConversion.Encode(factors, DType.F32));
        }

        if (config.RopeScaling is LongRopeScaling longRope)
        {
            w.AddTensor(GgufRopeScaling.LongFactorsTensor, GgmlType.F32, [longRope.LongFactor.Count], DTypeConversion.Encode(longRope.LongFactor.ToArray(), DType.F32));
            w.AddTensor(GgufRopeScaling.ShortFactorsTensor, GgmlType.F32, [longRope.ShortFactor.Count], DTypeConversion.Encode(longRope.ShortFactor.ToArray(), DType.F32));
        }

        bool fused = FusedProjections.AreFused(config.Architecture);
        if (fused)
        {
            weights = FusedProjections.Fuse(config, weights);
        }

        foreach (var e in fused ? FusedProjections.ExpectedStored(config) : ModelTensorChecker.Expected(config))
        {
            if (ExpertTensor(e.Name) is { } expert)
            {
                if (expert.Index == 0)
                {
                    AddExpertStack(w, config, weights, expert.Layer, expert.Projection, e.Shape, dtype);
                }

                continue;
            }

            if (!weights.TryGetValue(e.Name, out var values) || values.Length != DTypeConversion.ElementCount(e.Shape))
            {
                throw new ArgumentException($"weights must hold '{e.Name}' with {DTypeConversion.ElementCount(e.Shape)} values ({e.ShapeText})");
            }

            // llama.cpp's converter stores Phi-3's gate_up_proj as ffn_up (gate rows first).
            string ggufName = e.Name.EndsWith(FusedProjections.GateUpName, StringComparison.Ordinal)
                ? GgufTensorNames.ToGguf(e.Name.Replace(FusedProjections.GateUpName, "mlp.up_proj.weight", StringComparison.Ordinal))!
                : GgufTensorNames.ToGguf(e.Name, config.SandwichNorms) ?? throw new InvalidOperationException($"no GGUF name for '{e.Name}'");
            int rowLength = e.Shape.Length == 2 ? (int)e.Shape[1] : 1;
            if (permute && e.Name.Contains(".self_attn.q_proj.", StringComparison.Ordinal))
            {
                values = QkPermutation.HuggingFaceToGguf(values, config.NumHeads, rowLength);
            }
            else if (permute && e.Name.Contains(".self_attn.k_proj.", StringComparison.Ordinal))
            {
                values = QkPermutation.HuggingFaceToGguf(values, config.NumKvHeads, rowLength);
            }

            var stored = e.Shape.Length == 1 ? DType.F32 : dtype;
            if (stored == DType.Q8_0 && rowLength % DTypeConversion.Q8BlockSize != 0)
            {
                throw new ArgumentException($"q8_0 needs row lengths that are multiples of {DTypeConversion.Q8BlockSize}; tensor '{e.Name}' {e.ShapeText} has rows of {rowLength}");
            }

            w.AddTensor(ggufName, GgmlType.FromDType(stored), e.Shape.Reverse().ToArray(), DTypeConversion.Encode(values, stored));
        }

        w.Write(path);
    }

    /// <summary>
    /// Rope scalings as llama.cpp reads them: linear and YaRN as rope.scaling.type/factor (YaRN with its
    /// original context, and rope.scaling.attn_factor only where the attention factor is not YaRN's
    /// default, since ggml multiplies that default in itself); LongRoPE as Phi-3's converter writes it:
    /// the original context and the attention factor, its factors as tensors and no type.
    /// </summary>
    private static void WriteRopeScaling(GgufWriter w, string a, ModelConfig config)
    {
        switch (config.RopeScaling)
        {
            case LinearRopeScaling l:
                w.AddString($"{a}.rope.scaling.type", "linear");
                w.AddFloat32($"{a}.rope.scaling.factor", l.Factor);
                break;
            case YarnRopeScaling y:
                if (y.BetaFast != GgufRopeScaling.DefaultBetaFast || y.BetaSlow != GgufRopeScaling.DefaultBetaSlow || !y.Truncate)
                {
                    throw new ArgumentException("llama.cpp's YaRN uses beta_fast 32, beta_slow 1 and whole correction dimensions; a GGUF cannot carry others");
                }

                w.AddString($"{a}.rope.scaling.type", "yarn");
                w.AddFloat32($"{a}.rope.scaling.factor", y.Factor);
                w.AddUInt32($"{a}.rope.scaling.original_context_length", (uint)y.OriginalMaxPositionEmbeddings);
                float implied = YarnRopeScaling.DefaultAttentionFactor(y.Factor);
                if (y.AttentionFactor != implied)
                {
                    w.AddFloat32($"{a}.rope.scaling.attn_factor", y.AttentionFactor / implied);
                }

                break;
            case LongRopeScaling lr:
                w.AddUInt32($"{a}.rope.scaling.original_context_length", (uint)lr.OriginalMaxPositionEmbeddings);
                w.AddFloat32($"{a}.rope.scaling.attn_factor", lr.AttentionFactor);
                break;
            case DynamicNtkRopeScaling:
                throw new ArgumentException("llama.cpp has no dynamic NTK rope scaling; write this model as a Hugging Face folder");
        }
    }

    /// <summary>(layer, expert, projection) of a canonical expert tensor name, or null.</summary>
    private static (int Layer, int Index, string Projection)? ExpertTensor(string name)
    {
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(\w+\.weight)$");
        return m.Success ? (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups[3].Value) : null;
    }

    /// <summary>A layer's experts of one projection stacked as llama.cpp stores them: ggml dims [cols, rows, experts].</summary>
    private static void AddExpertStack(GgufWriter w, ModelConfig config, IReadOnlyDictionary<string, float[]> weights, int layer, string projection, long[] shape, DType dtype)
    {
        var stacked = new List<float>();
        for (int e = 0; e < config.NumExperts; e++)
        {
            string name = $"model.layers.{layer}.mlp.experts.{e}.{projection}";
            if (!weights.TryGetValue(name, out var values) || values.Length != DTypeConversion.ElementCount(shape))
            {
                throw new ArgumentException($"weights must hold '{name}' with {DTypeConversion.ElementCount(shape)} values");
            }

            stacked.AddRange(values);
        }

        if (dtype == DType.Q8_0 && shape[1] % DTypeConversion.Q8BlockSize != 0)
        {
            throw new ArgumentException($"q8_0 needs row lengths that are multiples of {DTypeConversion.Q8BlockSize}; experts' {projection} has rows of {shape[1]}");
        }

        w.AddTensor(GgufTensorNames.ExpertStackName(layer, projection), GgmlType.FromDType(dtype), [shape[1], shape[0], config.NumExperts], DTypeConversion.Encode(stacked.ToArray(), dtype));
    }

    /// <summary>llama.cpp's general.architecture for a Hugging Face architecture name.</summary>
    public static string GgufArchitecture(string huggingFaceArchitecture) => huggingFaceArchitecture switch
    {
        "Qwen3ForCausalLM" => "qwen3",
        "Qwen3MoeForCausalLM" => "qwen3moe",
        "Qwen2MoeForCausalLM" => "qwen2moe",
        "Gemma2ForCausalLM" => "gemma2",
        "Gemma3ForCausalLM" => "gemma3",
        "Phi3ForCausalLM" => "phi3",
        _ => "llama",
    };
}
