using System.Text.Json;
using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// config.json of a Hugging Face Llama-family checkpoint to <see cref="ModelConfig"/>, with the
/// defaults the transformers config classes apply when a key is absent.
/// </summary>
public static class HuggingFaceConfig
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "Qwen3MoeForCausalLM", "Qwen2MoeForCausalLM", "MixtralForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM", "Phi3ForCausalLM"];

    public static ModelConfig Read(string configPath)
    {
        if (!File.Exists(configPath))
        {
            throw new ModelFormatException($"{configPath}: file not found (a Hugging Face model folder needs config.json)");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{configPath}: not valid JSON ({e.Message})", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException($"{configPath}: expected a JSON object");
            }

            return Parse(configPath, doc.RootElement);
        }
    }

    public static ModelConfig Parse(string source, JsonElement root)
    {
        string architecture = ReadArchitecture(source, root);
        bool isQwen2Moe = architecture == "Qwen2MoeForCausalLM";
        bool isQwen2 = architecture == "Qwen2ForCausalLM" || isQwen2Moe;
        bool isQwen3Moe = architecture == "Qwen3MoeForCausalLM";
        bool isQwen3 = architecture == "Qwen3ForCausalLM" || isQwen3Moe;
        bool isGemma = HuggingFaceGemmaConfig.IsGemma(architecture);
        bool isPhi3 = architecture == "Phi3ForCausalLM";

        int hidden = RequiredInt(source, root, "hidden_size");
        int heads = RequiredInt(source, root, "num_attention_heads");
        int kvHeads = OptionalInt(source, root, "num_key_value_heads") ?? heads;
        if (heads <= 0 || hidden % heads != 0 && OptionalInt(source, root, "head_dim") is null)
        {
            throw new ModelFormatException($"{source}: hidden_size ({hidden}) is not a multiple of num_attention_heads ({heads}) and no head_dim is given");
        }

        // Qwen3Config and the Gemma configs default head_dim to 128 / 256 whatever hidden_size / num_attention_heads is.
        int headDim = OptionalInt(source, root, "head_dim") ?? (isQwen3 ? 128 : isGemma ? 256 : hidden / heads);
        if (!isGemma && root.TryGetProperty("hidden_act", out var act) && act.ValueKind == JsonValueKind.String && act.GetString() is not ("silu" or "swish"))
        {
            throw new ModelFormatException($"{source}: hidden_act \"{act.GetString()}\" is not supported; Folio runs SwiGLU models (hidden_act \"silu\")");
        }

        if (OptionalBool(source, root, "mlp_bias") == true)
        {
            throw new ModelFormatException($"{source}: mlp_bias true is not supported; Folio's MLP has no bias");
        }

        int defaultMaxPositions = architecture switch
        {
            "MistralForCausalLM" => 32768,
            "Qwen2ForCausalLM" => 32768,
            "Qwen3ForCausalLM" => 32768,
            "Qwen3MoeForCausalLM" => 32768,
            "Gemma2ForCausalLM" => 8192,
            "Gemma3ForCausalLM" => 131072,
            "Phi3ForCausalLM" => 4096,
            _ => 2048,
        };

        // A sliding window is attention's, not the context's: the served context stays
        // max_position_embeddings and each local layer reads only its window (see SlidingWindow).
        int declaredMaxPositions = OptionalInt(source, root, "max_position_embeddings") ?? defaultMaxPositions;
        int maxPositions = declaredMaxPositions;
        var (window, firstLocalLayer) = ReadSlidingWindow(source, root, architecture, RequiredInt(source, root, "num_hidden_layers"));

        // Phi-3's partial_rotary_factor (Phi-4-mini 0.75) rotates the leading dimensions of each head;
        // other architectures' attention in transformers rotates whole heads, so the key is refused there.
        double partial = OptionalDouble(source, root, "partial_rotary_factor") ?? 1.0;
        if (partial != 1.0 && !isPhi3)
        {
            throw new ModelFormatException($"{source}: partial_rotary_factor {partial} is supported for Phi3ForCausalLM only; {architecture} rotates whole heads");
        }

        int rotaryDim = (int)(headDim * partial);
        var config = new ModelConfig
        {
            Architecture = architecture,
            HiddenSize = hidden,
            NumLayers = RequiredInt(source, root, "num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            IntermediateSize = RequiredInt(source, root, "intermediate_size"),
            VocabSize = RequiredInt(source, root, "vocab_size"),
            MaxPositionEmbeddings = maxPositions,
            RmsNormEps = (float)(OptionalDouble(source, root, "rms_norm_eps") ?? 1e-6),
            RopeTheta = (float)(OptionalDouble(source, root, "rope_theta") ?? (architecture is "Gemma3ForCausalLM" or "MixtralForCausalLM" ? 1000000.0 : 10000.0)),
            RopeScaling = HuggingFaceRopeScaling.Read(source, root, declaredMaxPositions, rotaryDim),
            RotaryDimensions = rotaryDim == headDim ? null : rotaryDim,
            RopeStyle = RopeStyle.RotateHalf,
            TieWordEmbeddings = OptionalBool(source, root, "tie_word_embeddings") ?? isGemma,
            // Qwen2 always has q/k/v biases; Llama exposes them through attention_bias.
            AttentionBias = isQwen2 || (OptionalBool(source, root, "attention_bias") ?? false),
            QkNorm = isQwen3,
            SlidingWindow = window,
            FirstLocalLayer = firstLocalLayer,
            BosTokenId = OptionalInt(source, root, "bos_token_id"),
            EosTokenIds = ReadIntOrList(source, root, "eos_token_id"),
        };
        if (isGemma)
        {
            config = HuggingFaceGemmaConfig.Apply(source, root, config);
        }

        if (architecture == "MixtralForCausalLM")
        {
            config = ReadMixtral(source, root, config);
        }

        if (isQwen3Moe || isQwen2Moe)
        {
            config = ReadQwenMoe(source, root, config, isQwen2Moe);
        }

        config.Validate(source);
        return config;
    }

    /// <summary>
    /// The sliding window of the Llama-shaped families, with the transformers config classes'
    /// defaults: Mistral windows every layer (4096 when the key is absent, none when it is null),
    /// Phi-3 every layer when sliding_window is given, Qwen2 / Qwen3 / Qwen3-MoE only with
    /// use_sliding_window and then only layers &gt;= max_window_layers (default 28), or those a
    /// given layer_types marks, as their config classes build layer_types. Gemma's windows are read
    /// by <see cref="HuggingFaceGemmaConfig"/>.
    /// </summary>
    private static (int? Window, int FirstLocalLayer) ReadSlidingWindow(string source, JsonElement root, string architecture, int numLayers)
    {
        bool hasKey = root.TryGetProperty("sliding_window", out _);
        int? window;
        int firstLocal = 0;
        switch (architecture)
        {
            case "MistralForCausalLM":
                window = hasKey ? OptionalInt(source, root, "sliding_window") : 4096;
                break;
            case "Phi3ForCausalLM":
                window = OptionalInt(source, root, "sliding_window");
                break;
            case "Qwen2ForCausalLM" or "Qwen3ForCausalLM" or "Qwen3MoeForCausalLM" when OptionalBool(source, root, "use_sliding_window") ?? false:
                window = hasKey ? OptionalInt(source, root, "sliding_window") : 4096;
                firstLocal = OptionalInt(source, root, "max_window_layers") ?? 28;
                if (firstLocal < 0)
                {
                    throw new ModelFormatException($"{source}: \"max_window_layers\" must be >= 0 (got {firstLocal})");
                }

                break;
            default:
                window = null;
                break;
        }

        if (architecture is "Qwen2ForCausalLM" or "Qwen3ForCausalLM" or "Qwen3MoeForCausalLM" && HuggingFaceLayerTypes.ReadSliding(source, root, numLayers) is bool[] sliding)
        {
            firstLocal = QwenFirstSlidingLayer(source, sliding, window);
        }

        // No layer at or above max_window_layers: every layer is global and the window has no effect.
        return window is > 0 && firstLocal < numLayers ? (window, firstLocal) : (null, 0);
    }

    /// <summary>
    /// Where config.json lists layer_types, Qwen2Config/Qwen3Config keep it and ignore
    /// max_window_layers: the windowed layers are those it marks. Folio windows a run of layers from
    /// one up, so other layouts are refused, and so are sliding layers without a window (transformers
    /// clears sliding_window when use_sliding_window is false and then cannot build their mask).
    /// Returns the layer count when no layer slides.
    /// </summary>
    private static int QwenFirstSlidingLayer(string source, bool[] sliding, int? window)
    {
        int first = Array.IndexOf(sliding, true);
        if (first < 0)
        {
            return sliding.Length;
        }

        if (window is not > 0)
        {
            throw new ModelFormatException($"{source}: layer_types[{first}] is \"sliding_attention\" but there is no window (use_sliding_window is false or sliding_window is null)");
        }

        int full = Array.IndexOf(sliding, false, first);
        if (full >= 0)
        {
            throw new ModelFormatException($"{source}: layer_types[{full}] is \"full_attention\" after layer {first} slides; Folio windows Qwen's layers from one layer up (max_window_layers), not this layout");
        }

        return first;
    }

    /// <summary>
    /// Qwen3-MoE's and Qwen2-MoE's sparse MLP with their config classes' defaults. As their decoder
    /// layers decide, layer i is sparse unless it is in mlp_only_layers or (i + 1) % decoder_sparse_step
    /// != 0; the others are dense MLPs of intermediate_size. Qwen2-MoE's sparse layers also run a
    /// shared expert (shared_expert_intermediate_size) gated by sigmoid(shared_expert_gate); Qwen3-MoE
    /// has none.
    /// </summary>
    private static ModelConfig ReadQwenMoe(string source, JsonElement root, ModelConfig config, bool qwen2)
    {
        int step = OptionalInt(source, root, "decoder_sparse_step") ?? 1;
        if (step < 1)
        {
            throw new ModelFormatException($"{source}: \"decoder_sparse_step\" must be >= 1 (got {step})");
        }

        var mlpOnly = new HashSet<int>();
        if (root.TryGetProperty("mlp_only_layers", out var dense) && dense.ValueKind == JsonValueKind.Array)
        {
            foreach (var layer in dense.EnumerateArray())
            {
                if (layer.ValueKind != JsonValueKind.Number || !layer.TryGetInt32(out int l) || l < 0 || l >= config.NumLayers)
                {
                    throw new ModelFormatException($"{source}: \"mlp_only_layers\" must list layer indices 0..{config.NumLayers - 1}; got {layer.GetRawText()}");
                }

                mlpOnly.Add(l);
            }
        }

        int shared = OptionalInt(source, root, "shared_expert_intermediate_size") ?? (qwen2 ? 5632 : 0);
        if (!qwen2 && shared > 0)
        {
            throw new ModelFormatException($"{source}: shared_expert_intermediate_size > 0 (a shared expert) is Qwen2-MoE's; Qwen3MoeForCausalLM has none");
        }

        var denseLayers = Enumerable.Range(0, config.NumLayers).Where(i => mlpOnly.Contains(i) || (i + 1) % step != 0).ToArray();

        return config with
        {
            NumExperts = OptionalInt(source, root, "num_experts") ?? (qwen2 ? 60 : 128),
            NumExpertsPerToken = OptionalInt(source, root, "num_experts_per_tok") ?? (qwen2 ? 4 : 8),
            ExpertIntermediateSize = OptionalInt(source, root, "moe_intermediate_size") ?? (qwen2 ? 1408 : 768),
            NormTopKProb = OptionalBool(source, root, "norm_topk_prob") ?? false,
            DenseMlpLayers = denseLayers,
            SharedExpertIntermediateSize = shared,
        };
    }

    /// <summary>
    /// Mixtral (MixtralConfig's defaults): every layer a mixture of num_local_experts experts of
    /// intermediate_size, top num_experts_per_tok of the router's softmax, renormalised; its tensors
    /// (block_sparse_moe.*) are renamed by <see cref="MixtralTensorNames"/>. A sliding_window, when
    /// given, windows every layer.
    /// </summary>
    private static ModelConfig ReadMixtral(string source, JsonElement root, ModelConfig config)
    {
        int? window = OptionalInt(source, root, "sliding_window");
        return config with
        {
            NumExperts = OptionalInt(source, root, "num_local_experts") ?? 8,
            NumExpertsPerToken = OptionalInt(source, root, "num_experts_per_tok") ?? 2,
            ExpertIntermediateSize = config.IntermediateSize,
            NormTopKProb = true,
            SlidingWindow = window is > 0 ? window : config.SlidingWindow,
        };
    }

    private static string ReadArchitecture(string source, JsonElement root)
    {
        string? arch = null;
        if (root.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array && archs.GetArrayLength() > 0)
        {
            arch = archs[0].GetString();
        }
        else if (root.TryGetProperty("model_type", out var mt) && mt.ValueKind == JsonValueKind.String)
        {
            arch = mt.GetString() switch
            {
                "llama" => "LlamaForCausalLM",
                "mistral" => "MistralForCausalLM",
                "qwen2" => "Qwen2ForCausalLM",
                "qwen3" => "Qwen3ForCausalLM",
                "qwen3_moe" => "Qwen3MoeForCausalLM",
                "gemma2" => "Gemma2ForCausalLM",
                "gemma3_text" => "Gemma3ForCausalLM",
                "phi3" => "Phi3ForCausalLM",
                var other => other,
            };
        }

        if (arch is null)
        {
            throw new ModelFormatException($"{source}: no \"architectures\" (or \"model_type\"); expected one of {string.Join(", ", SupportedArchitectures)}");
        }

        if (!SupportedArchitectures.Contains(arch))
        {
            throw new ModelFormatException($"{source}: unknown architecture \"{arch}\"; Folio runs {string.Join(", ", SupportedArchitectures)}");
        }

        return arch;
    }

    internal static int RequiredInt(string source, JsonElement o, string key) =>
        OptionalInt(source, o, key) ?? throw new ModelFormatException($"{source}: required key \"{key}\" is missing");

    internal static int? OptionalInt(string source, JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i))
        {
            return i;
        }

        throw new ModelFormatException($"{source}: \"{key}\" must be an integer (got {v.GetRawText()})");
    }

    internal static double? OptionalDouble(string source, JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new ModelFormatException($"{source}: \"{key}\" must be a number (got {v.GetRawText()})");
    }

    internal static bool? OptionalBool(string source, JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFormatException($"{source}: \"{key}\" must be true or false (got {v.GetRawText()})"),
        };
    }

    private static IReadOnlyList<int> ReadIntOrList(string source, JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int single))
        {
            return [single];
        }

        if (v.ValueKind == JsonValueKind.Array)
        {
            var list = new List<int>();
            foreach (var e in v.EnumerateArray())
            {
                list.Add(e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int x) ? x : throw new ModelFormatException($"{source}: \"{key}\" must hold integers (got {v.GetRawText()})"));
            }

            return list;
        }

        throw new ModelFormatException($"{source}: \"{key}\" must be an integer or a list of integers (got {v.GetRawText()})");
    }
}
