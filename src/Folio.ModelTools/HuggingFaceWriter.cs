using System.Text.Json;
using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.ModelTools;

/// <summary>
/// Writes a Hugging Face model folder that transformers (and <see cref="HuggingFaceLoader"/>) can
/// load: config.json, model.safetensors or N shards with model.safetensors.index.json,
/// tokenizer.json and tokenizer_config.json.
/// </summary>
public static class HuggingFaceWriter
{
    /// <param name="weights">f32 values by canonical name in Hugging Face layout (every tensor <see cref="ModelTensorChecker.Expected"/> lists).</param>
    /// <param name="dtype">F32, F16 or BF16 (safetensors has no q8_0).</param>
    /// <param name="shards">1 writes model.safetensors; more splits the tensors into that many files plus an index.</param>
    public static void Write(string folder, ModelConfig config, TokenizerSpec tokenizer, IReadOnlyDictionary<string, float[]> weights, DType dtype, int shards = 1)
    {
        if (dtype == DType.Q8_0)
        {
            throw new ArgumentException("a Hugging Face folder stores f32, f16 or bf16; q8_0 exists only in GGUF");
        }

        if (config.IsMoe && config.Architecture is not ("Qwen3MoeForCausalLM" or "Qwen2MoeForCausalLM" or "MixtralForCausalLM"))
        {
            throw new ArgumentException($"a mixture of experts is written as Qwen3MoeForCausalLM, Qwen2MoeForCausalLM or MixtralForCausalLM, not {config.Architecture}");
        }

        bool fused = FusedProjections.AreFused(config.Architecture);
        var expected = fused ? FusedProjections.ExpectedStored(config) : ModelTensorChecker.Expected(config);
        if (fused)
        {
            weights = FusedProjections.Fuse(config, weights);
        }

        if (shards < 1 || shards > expected.Count)
        {
            throw new ArgumentException($"shards must be between 1 and the tensor count ({expected.Count}); got {shards}");
        }

        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, HuggingFaceLoader.ConfigFile), ConfigJson(config, dtype));
        TokenizerJsonWriter.WriteFolder(tokenizer, folder);

        bool mixtral = config.Architecture == "MixtralForCausalLM";
        var encoded = expected.Select(e => new EncodedTensor(mixtral ? MixtralTensorNames.ToCheckpoint(e.Name) : e.Name, dtype, e.Shape, DTypeConversion.Encode(Require(weights, e), dtype))).ToList();
        if (shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(folder, HuggingFaceLoader.SingleFile), encoded, new Dictionary<string, string> { ["format"] = "pt" });
            return;
        }

        // Contiguous groups of about equal tensor count (every shard non-empty), in checkpoint order.
        long total = encoded.Sum(t => (long)t.Data.Length);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int s = 0; s < shards; s++)
        {
            string name = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            int from = s * encoded.Count / shards, to = (s + 1) * encoded.Count / shards;
            var group = encoded.GetRange(from, to - from);
            SafetensorsWriter.Write(Path.Combine(folder, name), group, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var t in group)
            {
                weightMap[t.Name] = name;
            }
        }

        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", total);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (k, v) in weightMap)
            {
                json.WriteString(k, v);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        File.WriteAllBytes(Path.Combine(folder, HuggingFaceLoader.IndexFile), stream.ToArray());
    }

    public static string ConfigJson(ModelConfig c, DType dtype)
    {
        bool qwen2 = c.Architecture == "Qwen2ForCausalLM";
        string arch = HuggingFaceConfig.SupportedArchitectures.Contains(c.Architecture) ? c.Architecture : "LlamaForCausalLM";
        using var stream = new MemoryStream();
        using (var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteStartArray("architectures");
            j.WriteStringValue(arch);
            j.WriteEndArray();
            j.WriteString("model_type", arch switch
            {
                "MistralForCausalLM" => "mistral",
                "Qwen2ForCausalLM" => "qwen2",
                "Qwen3ForCausalLM" => "qwen3",
                "Qwen3MoeForCausalLM" => "qwen3_moe",
                "MixtralForCausalLM" => "mixtral",
                "Qwen2MoeForCausalLM" => "qwen2_moe",
                "Gemma2ForCausalLM" => "gemma2",
                "Gemma3ForCausalLM" => "gemma3_text",
                "Phi3ForCausalLM" => "phi3",
                _ => "llama",
            });
            j.WriteNumber("hidden_size", c.HiddenSize);
            j.WriteNumber("intermediate_size", c.IntermediateSize);
            j.WriteNumber("num_hidden_layers", c.NumLayers);
            j.WriteNumber("num_attention_heads", c.NumHeads);
            j.WriteNumber("num_key_value_heads", c.NumKvHeads);
            j.WriteNumber("head_dim", c.HeadDim);
            j.WriteNumber("vocab_size", c.VocabSize);
            j.WriteNumber("max_position_embeddings", c.MaxPositionEmbeddings);
            j.WriteNumber("rms_norm_eps", c.RmsNormEps);
            j.WriteNumber("rope_theta", c.RopeTheta);
            bool gemma = arch is "Gemma2ForCausalLM" or "Gemma3ForCausalLM";
            if (gemma)
            {
                j.WriteString("hidden_activation", "gelu_pytorch_tanh");
                j.WriteNumber("query_pre_attn_scalar", MathF.Round(1f / (c.EffectiveAttentionScale * c.EffectiveAttentionScale)));
                j.WriteNumber("sliding_window", c.SlidingWindow ?? 4096);
                if (c.AttentionLogitSoftcap is float attnCap)
                {
                    j.WriteNumber("attn_logit_softcapping", attnCap);
                }
                else
                {
                    j.WriteNull("attn_logit_softcapping");
                }

                if (c.FinalLogitSoftcap is float finalCap)
                {
                    j.WriteNumber("final_logit_softcapping", finalCap);
                }
                else
                {
                    j.WriteNull("final_logit_softcapping");
                }

                if (arch == "Gemma3ForCausalLM")
                {
                    j.WriteNumber("sliding_window_pattern", c.SlidingWindowPattern);
                    j.WriteNumber("rope_local_base_freq", c.RopeLocalTheta ?? c.RopeTheta);
                }
            }
            else
            {
                j.WriteString("hidden_act", "silu");
                WriteSlidingWindow(j, c, arch);
            }

            j.WriteBoolean("tie_word_embeddings", c.TieWordEmbeddings);
            if (c.IsMoe && arch == "MixtralForCausalLM")
            {
                j.WriteNumber("num_local_experts", c.NumExperts);
                j.WriteNumber("num_experts_per_tok", c.NumExpertsPerToken);
            }
            else if (c.IsMoe)
            {
                j.WriteNumber("num_experts", c.NumExperts);
                j.WriteNumber("num_experts_per_tok", c.NumExpertsPerToken);
                j.WriteNumber("moe_intermediate_size", c.ExpertIntermediateSize);
                j.WriteBoolean("norm_topk_prob", c.NormTopKProb);
                j.WriteNumber("shared_expert_intermediate_size", c.SharedExpertIntermediateSize);
                j.WriteNumber("decoder_sparse_step", 1);
                j.WriteStartArray("mlp_only_layers");
                foreach (int layer in c.DenseMlpLayers)
                {
                    j.WriteNumberValue(layer);
                }

                j.WriteEndArray();
            }

            if (!qwen2)
            {
                j.WriteBoolean("attention_bias", c.AttentionBias);
                j.WriteBoolean("mlp_bias", false);
            }

            if (c.RotaryDim != c.HeadDim)
            {
                j.WriteNumber("partial_rotary_factor", c.RotaryDim / (double)c.HeadDim);
            }

            WriteRopeScaling(j, c);

            if (c.BosTokenId is int bos)
            {
                j.WriteNumber("bos_token_id", bos);
            }

            if (c.EosTokenIds.Count == 1)
            {
                j.WriteNumber("eos_token_id", c.EosTokenIds[0]);
            }
            else if (c.EosTokenIds.Count > 1)
            {
                j.WriteStartArray("eos_token_id");
                foreach (int e in c.EosTokenIds)
                {
                    j.WriteNumberValue(e);
                }

                j.WriteEndArray();
            }

            j.WriteString("torch_dtype", dtype switch { DType.F16 => "float16", DType.BF16 => "bfloat16", _ => "float32" });
            j.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>rope_scaling as transformers reads it (Phi-3 keeps LongRoPE's original context beside it, as its checkpoints do).</summary>
    /// <summary>
    /// The window as the family's config class reads it back (HuggingFaceConfig): Mistral always
    /// states it (null for none, since an absent key means 4096), Qwen2/Qwen3 through
    /// use_sliding_window and max_window_layers, Phi-3 and Llama by sliding_window alone.
    /// </summary>
    private static void WriteSlidingWindow(Utf8JsonWriter j, ModelConfig c, string arch)
    {
        if (c.SlidingWindow is not int window)
        {
            if (arch == "MistralForCausalLM")
            {
                j.WriteNull("sliding_window");
            }

            return;
        }

        if (c.SlidingWindowPattern != 1)
        {
            throw new ArgumentException($"{arch} windows every layer or those from max_window_layers up; a sliding window pattern of {c.SlidingWindowPattern} is Gemma's");
        }

        j.WriteNumber("sliding_window", window);
        if (arch is "Qwen2ForCausalLM" or "Qwen3ForCausalLM" or "Qwen3MoeForCausalLM")
        {
            j.WriteBoolean("use_sliding_window", true);
            j.WriteNumber("max_window_layers", c.FirstLocalLayer);
        }
        else if (c.FirstLocalLayer != 0 || arch is not ("MistralForCausalLM" or "Phi3ForCausalLM"))
        {
            throw new ArgumentException($"a sliding window on {arch} is not something its Hugging Face config can say; use MistralForCausalLM, Phi3ForCausalLM or Qwen2ForCausalLM");
        }
    }

    private static void WriteRopeScaling(Utf8JsonWriter j, ModelConfig c)
    {
        if (c.RopeScaling is null)
        {
            j.WriteNull("rope_scaling");
            return;
        }

        if (c.RopeScaling is LongRopeScaling top)
        {
            j.WriteNumber("original_max_position_embeddings", top.OriginalMaxPositionEmbeddings);
        }

        j.WriteStartObject("rope_scaling");
        j.WriteString("rope_type", c.RopeScaling.TypeName);
        switch (c.RopeScaling)
        {
            case Llama3RopeScaling s:
                j.WriteNumber("factor", s.Factor);
                j.WriteNumber("low_freq_factor", s.LowFreqFactor);
                j.WriteNumber("high_freq_factor", s.HighFreqFactor);
                j.WriteNumber("original_max_position_embeddings", s.OriginalMaxPositionEmbeddings);
                break;
            case LinearRopeScaling l:
                j.WriteNumber("factor", l.Factor);
                break;
            case DynamicNtkRopeScaling d:
                j.WriteNumber("factor", d.Factor);
                break;
            case YarnRopeScaling y:
                j.WriteNumber("factor", y.Factor);
                j.WriteNumber("original_max_position_embeddings", y.OriginalMaxPositionEmbeddings);
                j.WriteNumber("beta_fast", y.BetaFast);
                j.WriteNumber("beta_slow", y.BetaSlow);
                j.WriteNumber("attention_factor", y.AttentionFactor);
                break;
            case LongRopeScaling lr:
                j.WriteNumber("attention_factor", lr.AttentionFactor);
                j.WriteStartArray("short_factor");
                foreach (float f in lr.ShortFactor)
                {
                    j.WriteNumberValue(f);
                }

                j.WriteEndArray();
                j.WriteStartArray("long_factor");
                foreach (float f in lr.LongFactor)
                {
                    j.WriteNumberValue(f);
                }

                j.WriteEndArray();
                break;
        }

        j.WriteEndObject();
    }

    private static float[] Require(IReadOnlyDictionary<string, float[]> weights, ExpectedTensor e)
    {
        if (!weights.TryGetValue(e.Name, out var w) || w.Length != DTypeConversion.ElementCount(e.Shape))
        {
            throw new ArgumentException($"weights must hold '{e.Name}' with {DTypeConversion.ElementCount(e.Shape)} values ({e.ShapeText})");
        }

        return w;
    }
}
