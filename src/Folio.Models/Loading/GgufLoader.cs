using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.Models.Loading;

/// <summary>
/// Loads a GGUF file as a <see cref="LoadedModel"/>: configuration from the {arch}.* metadata, the
/// embedded tokenizer, and the tensors renamed to canonical Hugging Face names with shapes outermost
/// first. q/k rows are left as llama.cpp's converter stored them, so llama-layout files report
/// <see cref="RopeStyle.Interleaved"/>; qwen2/qwen3 files were never permuted (llama.cpp ropes
/// them NEOX-style) and report RotateHalf.
/// </summary>
public static unsafe class GgufLoader
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["llama", "mistral", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "gemma2", "gemma3", "phi3"];

    /// <summary>Keys Folio adds so Llama 3 rope scaling survives the trip exactly (llama.cpp ignores them; it reads rope_freqs.weight).</summary>
    public const string Llama3FactorKey = "folio.rope.llama3.factor";
    public const string Llama3LowFreqKey = "folio.rope.llama3.low_freq_factor";
    public const string Llama3HighFreqKey = "folio.rope.llama3.high_freq_factor";
    public const string Llama3OriginalContextKey = "folio.rope.llama3.original_context_length";

    public static LoadedModel Load(string path)
    {
        var file = GgufFile.Open(path);
        try
        {
            var md = file.Metadata;
            string arch = Require(path, md, "general.architecture", v => v.AsString());
            if (!SupportedArchitectures.Contains(arch))
            {
                throw new ModelFormatException($"{path}: unknown architecture \"{arch}\" (general.architecture); Folio runs {string.Join(", ", SupportedArchitectures)} GGUF files");
            }

            var spec = GgufTokenizerMetadata.Read(path, md);
            var tensors = RenameTensors(path, file, sandwichNorms: IsGemma(arch), fusedGateUp: FusedProjections.AreFused(arch));
            var config = ReadConfig(path, arch, md, spec, tensors);
            if (FusedProjections.AreFused(arch))
            {
                FusedProjections.Split(path, config, tensors);
            }

            ModelTensorChecker.Check(path, config, tensors);
            ITokenizer tokenizer = LoaderTokenizers.FromSpec(path, spec);

            var specialTokens = GgufTokenizerMetadata.ReadSpecialTokens(path, md, spec);
            return new LoadedModel(path, config, tokenizer, tensors, [file])
            {
                ChatTemplate = GgufTokenizerMetadata.ReadChatTemplate(path, md, specialTokens),
                SpecialTokens = specialTokens,
            };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static bool IsGemma(string arch) => arch is "gemma2" or "gemma3";

    /// <param name="fusedGateUp">Phi-3: ffn_up holds gate and up rows (llama.cpp's converter maps gate_up_proj there).</param>
    private static Dictionary<string, TensorView> RenameTensors(string path, GgufFile file, bool sandwichNorms, bool fusedGateUp)
    {
        var tensors = new Dictionary<string, TensorView>(StringComparer.Ordinal);
        foreach (var (name, view) in file.Tensors)
        {
            if (GgufTensorNames.TryExpertStack(name, out int layer, out string projection))
            {
                AddExperts(path, tensors, name, view, layer, projection);
                continue;
            }

            string canonical = GgufTensorNames.ToHuggingFace(name, sandwichNorms) ?? name;
            if (fusedGateUp && canonical.EndsWith(".mlp.up_proj.weight", StringComparison.Ordinal))
            {
                canonical = canonical[..^"up_proj.weight".Length] + "gate_up_proj.weight";
            }

            // llama.cpp's converter writes the shared expert's one-row gate 1-D; Hugging Face's is [1, hidden].
            long[] shape = canonical.EndsWith(".mlp.shared_expert_gate.weight", StringComparison.Ordinal) && view.Shape.Length == 1 ? [1, view.Shape[0]] : view.Shape;
            var renamed = new TensorView(canonical, view.DType, shape, view.Data, view.ByteLength, path) { IsFileMapped = view.IsFileMapped };
            if (!tensors.TryAdd(canonical, renamed))
            {
                throw new ModelFormatException($"{path}: two tensors map to '{canonical}' (one is '{name}')");
            }
        }

        return tensors;
    }

    /// <summary>
    /// One view per expert into a stacked [experts, rows, cols] tensor: each expert's rows are
    /// contiguous in the file (whole quantization blocks), so the slices stay memory-mapped.
    /// </summary>
    private static void AddExperts(string path, Dictionary<string, TensorView> tensors, string name, TensorView stack, int layer, string projection)
    {
        if (stack.Shape.Length != 3 || stack.Shape[0] <= 0 || stack.ByteLength % stack.Shape[0] != 0)
        {
            throw new ModelFormatException($"{path}: tensor '{name}' must be 3-D [experts, rows, cols]; got {stack.ShapeText}");
        }

        long experts = stack.Shape[0];
        long bytes = stack.ByteLength / experts;
        for (int e = 0; e < experts; e++)
        {
            string canonical = $"model.layers.{layer}.mlp.experts.{e}.{projection}";
            var view = new TensorView(canonical, stack.DType, [stack.Shape[1], stack.Shape[2]], stack.Data + (e * bytes), bytes, path) { IsFileMapped = stack.IsFileMapped };
            if (!tensors.TryAdd(canonical, view))
            {
                throw new ModelFormatException($"{path}: two tensors map to '{canonical}' (one is '{name}')");
            }
        }
    }

    private static ModelConfig ReadConfig(string path, string arch, IReadOnlyDictionary<string, GgufValue> md, TokenizerSpec spec, Dictionary<string, TensorView> tensors)
    {
        int Int(string key) => checked((int)Require(path, md, $"{arch}.{key}", v => v.AsLong()));
        int? OptInt(string key) => md.ContainsKey($"{arch}.{key}") ? Int(key) : null;
        float? OptFloat(string key) => md.TryGetValue($"{arch}.{key}", out var v) ? (float)Convert(path, $"{arch}.{key}", () => v.AsDouble()) : null;

        int hidden = Int("embedding_length");
        int heads = Int("attention.head_count");
        int headDim = OptInt("attention.key_length") ?? (heads > 0 ? hidden / heads : 0);
        int? valueLength = OptInt("attention.value_length");
        if (valueLength is int vl && vl != headDim)
        {
            throw new ModelFormatException($"{path}: {arch}.attention.value_length ({vl}) differs from key_length ({headDim}); Folio needs equal K and V head sizes");
        }

        // Fewer rope dimensions than the head size: llama.cpp rotates the leading ones and passes the rest (partial rotary).
        int? ropeDims = OptInt("rope.dimension_count");
        if (ropeDims is int rd && (rd > headDim || rd <= 0 || rd % 2 != 0))
        {
            throw new ModelFormatException($"{path}: {arch}.rope.dimension_count ({rd}) must be even and between 2 and the head size ({headDim})");
        }

        int rotaryDim = ropeDims ?? headDim;

        int vocab = OptInt("vocab_size") ?? spec.Tokens.Count;
        if (vocab < spec.Tokens.Count)
        {
            throw new ModelFormatException($"{path}: {arch}.vocab_size ({vocab}) is smaller than the embedded token list ({spec.Tokens.Count})");
        }

        float theta = OptFloat("rope.freq_base") ?? 10000f;
        int contextLength = Int("context_length");
        // Sliding windows on every layer (Gemma's interleaved ones are read by GemmaConfig): phi3 as its
        // converter writes it (llama.cpp itself ignores it, so the two agree only within the window), and
        // llama when the file carries llama.attention.sliding_window. llama.cpp's converter writes none
        // for Mistral, so a converted Mistral attends over its whole context here, as in llama.cpp.
        int? window = arch is "phi3" or "llama" or "mistral" && OptInt("attention.sliding_window") is int w && w > 0 ? w : null;
        var config = new ModelConfig
        {
            Architecture = arch,
            HiddenSize = hidden,
            NumLayers = Int("block_count"),
            NumHeads = heads,
            NumKvHeads = OptInt("attention.head_count_kv") ?? heads,
            HeadDim = headDim,
            IntermediateSize = Int("feed_forward_length"),
            VocabSize = vocab,
            MaxPositionEmbeddings = contextLength,
            SlidingWindow = window,
            SlidingWindowPattern = window is null ? 1 : OptInt("attention.sliding_window_pattern") ?? 1,
            RmsNormEps = OptFloat("attention.layer_norm_rms_epsilon") ?? 1e-5f,
            RopeTheta = theta,
            RopeScaling = GgufRopeScaling.Read(path, arch, md, tensors, rotaryDim, contextLength, () => ReadLlama3Scaling(path, arch, md, tensors, headDim, theta)),
            RotaryDimensions = rotaryDim == headDim ? null : rotaryDim,
            RopeStyle = arch is "qwen2" or "qwen2moe" or "qwen3" or "qwen3moe" or "phi3" || IsGemma(arch) ? RopeStyle.RotateHalf : RopeStyle.Interleaved,
            TieWordEmbeddings = !tensors.ContainsKey("lm_head.weight"),
            AttentionBias = tensors.ContainsKey("model.layers.0.self_attn.q_proj.bias"),
            QkNorm = arch is "qwen3" or "qwen3moe" or "gemma3",
            // llama.cpp routes Mixtral-style (llama with experts), qwen2moe and qwen3moe with softmax, then top-k.
            NumExperts = OptInt("expert_count") ?? 0,
            NumExpertsPerToken = OptInt("expert_used_count") ?? 0,
            ExpertIntermediateSize = (OptInt("expert_count") ?? 0) > 0 ? OptInt("expert_feed_forward_length") ?? Int("feed_forward_length") : 0,
            // qwen2moe's graph leaves the top-k weights as they are (Qwen2MoeConfig's norm_topk_prob default).
            NormTopKProb = arch != "qwen2moe",
            // As llama.cpp: expert_shared_feed_forward_length, else feed_forward_length (the tensors' shapes are checked against it).
            SharedExpertIntermediateSize = tensors.Keys.Any(k => k.EndsWith(".mlp.shared_expert.gate_proj.weight", StringComparison.Ordinal))
                ? OptInt("expert_shared_feed_forward_length") ?? Int("feed_forward_length")
                : 0,
            // A layer without a router (ffn_gate_inp) is dense: llama.cpp's converter writes ffn_gate/up/down
            // for Qwen-MoE's mlp_only_layers.
            DenseMlpLayers = (OptInt("expert_count") ?? 0) > 0 ? Enumerable.Range(0, Int("block_count")).Where(i => !tensors.ContainsKey($"model.layers.{i}.mlp.gate.weight")).ToArray() : [],
            BosTokenId = spec.BosTokenId,
            EosTokenIds = spec.EosTokenIds,
        };
        if (IsGemma(arch))
        {
            config = GemmaConfig(arch, config, OptInt, OptFloat);
        }

        config.Validate(path);
        return config;
    }

    /// <summary>
    /// Gemma's math as llama.cpp's gemma2/gemma3 graphs run it. Norm weights are stored as 1 + w by
    /// the converter, so no offset here. The attention scale is llama.cpp's: 1/sqrt(head size),
    /// except for the 27B shapes (46 / 62 layers), where it is 1/sqrt(hidden / heads). Gemma 2
    /// alternates local and global layers, Gemma 3 has five local per global one, local layers of
    /// Gemma 3 rope with base 10000 unless the file says otherwise.
    /// </summary>
    private static ModelConfig GemmaConfig(string arch, ModelConfig c, Func<string, int?> optInt, Func<string, float?> optFloat)
    {
        bool gemma3 = arch == "gemma3";
        bool is27B = c.NumLayers == (gemma3 ? 62 : 46);
        float scaleDim = is27B ? c.HiddenSize / c.NumHeads : c.HeadDim;
        int? window = optInt("attention.sliding_window") ?? (gemma3 ? null : 4096);
        return c with
        {
            Activation = MlpActivation.GeluTanh,
            EmbeddingScale = MathF.Sqrt(c.HiddenSize),
            SandwichNorms = true,
            AttentionScale = 1f / MathF.Sqrt(scaleDim),
            AttentionLogitSoftcap = gemma3 ? null : optFloat("attn_logit_softcapping") ?? 50f,
            FinalLogitSoftcap = optFloat("final_logit_softcapping") is float cap && cap > 0 ? cap : gemma3 ? null : 30f,
            SlidingWindow = window is > 0 ? window : null,
            // llama.cpp reads sliding_window_pattern when the file has it (as one period).
            SlidingWindowPattern = optInt("attention.sliding_window_pattern") ?? (gemma3 ? 6 : 2),
            RopeLocalTheta = gemma3 ? optFloat("rope.freq_base_swa") ?? 10000f : null,
        };
    }

    private static Llama3RopeScaling? ReadLlama3Scaling(string path, string arch, IReadOnlyDictionary<string, GgufValue> md, Dictionary<string, TensorView> tensors, int headDim, float theta)
    {
        if (md.ContainsKey(Llama3FactorKey))
        {
            return new Llama3RopeScaling(
                (float)Require(path, md, Llama3FactorKey, v => v.AsDouble()),
                (float)Require(path, md, Llama3LowFreqKey, v => v.AsDouble()),
                (float)Require(path, md, Llama3HighFreqKey, v => v.AsDouble()),
                checked((int)Require(path, md, Llama3OriginalContextKey, v => v.AsLong())));
        }

        if (!tensors.TryGetValue(GgufTensorNames.RopeFreqs, out var freqs))
        {
            return null;
        }

        if (freqs.DType != DType.F32 || freqs.ElementCount != headDim / 2)
        {
            throw new ModelFormatException($"{path}: tensor '{GgufTensorNames.RopeFreqs}' must be F32 [{headDim / 2}]; got {freqs.DType} {freqs.ShapeText}");
        }

        var stored = DTypeConversion.ToF32(freqs);
        int original = md.TryGetValue($"{arch}.rope.scaling.original_context_length", out var oc) ? checked((int)Convert(path, $"{arch}.rope.scaling.original_context_length", oc.AsLong)) : 8192;
        return Llama3RopeFactors.TryRecover(stored, headDim, theta, original)
            ?? throw new ModelFormatException($"{path}: tensor '{GgufTensorNames.RopeFreqs}' holds rope frequency factors that do not match Llama 3 scaling (low_freq_factor 1, high_freq_factor 4); this rope variant is not supported");
    }

    private static T Require<T>(string path, IReadOnlyDictionary<string, GgufValue> md, string key, Func<GgufValue, T> read)
    {
        if (!md.TryGetValue(key, out var v))
        {
            throw new ModelFormatException($"{path}: metadata '{key}' is missing");
        }

        return Convert(path, key, () => read(v));
    }

    private static T Convert<T>(string path, string key, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException)
        {
            throw new ModelFormatException($"{path}: metadata '{key}' has the wrong type ({e.Message})", e);
        }
    }
}
