using System.Diagnostics;
using Folio.Cpu.Quantized;
using Folio.Engine.Execution;
using Folio.Models;

namespace Folio.Cpu;

/// <summary>
/// The CPU backend: a Llama-family decoder in f32 over a paged KV cache, the layout of
/// <see cref="IModelRunner"/>. Linear weights are packed at construction: f32/f16/bf16 ones as f32
/// panels, GGML block-quantized ones (q8_0, q4_K, ...) repacked but kept quantized (see
/// <see cref="CpuRunnerOptions.KeepQuantized"/>); the embedding table is read from the model's own
/// tensor, row by row, so the <see cref="LoadedModel"/> must outlive the runner. A forward step
/// allocates nothing once its scratch has grown to the largest batch seen.
///
/// Determinism: every value a token produces is computed by code whose arithmetic depends only on
/// that token's inputs and is fixed by the math alone (see <see cref="GemmKernels"/>,
/// <see cref="QuantGemm"/>, <see cref="VectorMath"/> and <see cref="AttentionKernel"/>); threads
/// split work by whole output elements, never inside a reduction, and no reduction's order depends
/// on the vector width. So a sequence's logits are bitwise the same alone or batched, in one prefill
/// chunk or many, with one thread or several, on AVX-512, AVX2 or scalar hardware.
/// </summary>
public sealed unsafe partial class CpuModelRunner : IModelRunner
{
    private readonly CpuThreadTeam _team;
    private readonly CpuLayerWeights[] _layers;
    private readonly NativeBuffer _finalNorm;
    private readonly LinearWeight _lmHead;

    /// <summary>[VocabSize, HiddenSize] embedding table in the model's own storage; rows are decoded on lookup.</summary>
    private readonly TensorView _embedding;
    private readonly double[] _invFreq;

    /// <summary>What cos and sin are multiplied by (YaRN's and LongRoPE's attention factor, else 1).</summary>
    private readonly double _ropeAttentionFactor;

    /// <summary>Local layers' inverse frequencies when they have their own rope base (Gemma 3), else null.</summary>
    private readonly double[]? _invFreqLocal;
    private readonly StepWork _work;

    // Per-step scratch, grown to the largest batch seen.
    private readonly NativeBuffer _hidden = new();
    private readonly NativeBuffer _normed = new();
    private readonly NativeBuffer _qkv = new();
    private readonly NativeBuffer _attn = new();
    private readonly NativeBuffer _gateUp = new();
    private readonly NativeBuffer _act = new();
    private readonly NativeBuffer _cos = new();
    private readonly NativeBuffer _sin = new();
    private readonly NativeBuffer _cosLocal = new();
    private readonly NativeBuffer _sinLocal = new();

    /// <summary>An attention or MLP output before its own norm and residual add (Gemma's post-norms).</summary>
    private readonly NativeBuffer _branch = new();

    // Mixture-of-experts scratch: router logits [t, E]; per (token, slot) its expert and weight; the
    // slots' rows grouped by expert (input, gate|up, activation, output).
    private readonly NativeBuffer _router = new();
    private readonly NativeBuffer _expertIn = new();
    private readonly NativeBuffer _expertGateUp = new();
    private readonly NativeBuffer _expertAct = new();
    private readonly NativeBuffer _expertOut = new();

    // The shared expert (Qwen2-MoE), run on every token of a sparse layer: gate|up, activation, output.
    private readonly NativeBuffer _sharedGateUp = new();
    private readonly NativeBuffer _sharedAct = new();
    private readonly NativeBuffer _sharedOut = new();

    /// <summary>Router logits per token: the experts', then the shared expert's gate logit when there is one.</summary>
    private readonly int _routerWidth;
    private int[] _routeExpert = [];
    private float[] _routeWeight = [];
    private int[] _rowOfSlot = [];
    private int[] _slotOfRow = [];
    private readonly int[] _expertCount;
    private readonly int[] _expertStart;
    private readonly NativeBuffer _logitRows = new();
    private readonly NativeBuffer[] _scores;

    /// <summary>The input rows of a quantized GEMM, quantized to int8 once per call.</summary>
    private readonly QuantActivations _quantized = new();

    /// <summary>Per thread, the room a mapped expert's panel is packed into (empty without mapped experts).</summary>
    private readonly MappedPanelScratch[] _mappedScratch;

    /// <summary>Packed panels of mapped experts kept between steps; null without mapped experts.</summary>
    private readonly ExpertPanelCache? _expertCache;
    private readonly bool _ggmlF16Gelu;
    private int[] _tokenSeq = [];
    private bool _disposed;

    public CpuModelRunner(LoadedModel model, CpuRunnerOptions options)
    {
        options.Validate();
        var c = model.Config;
        c.Validate(model.Source);
        Config = c;
        BlockSize = options.BlockSize;
        NumBlocks = options.NumBlocks;
        _team = new CpuThreadTeam(options.Threads);
        _ggmlF16Gelu = options.GgmlF16Gelu;
        _expertCount = new int[c.NumExperts];
        _routerWidth = c.NumExperts + (c.SharedExpertIntermediateSize > 0 ? 1 : 0);
        _expertStart = new int[c.NumExperts];
        _invFreq = RopeFrequencies.Inverse(c);
        _ropeAttentionFactor = RopeFrequencies.AttentionFactor(c.RopeScaling);
        _invFreqLocal = c.RopeLocalTheta is float localTheta ? RotaryEmbedding.InverseFrequencies(c.RotaryDim, localTheta, null) : null;

        bool keep = options.KeepQuantized;
        var mappedNeeds = new MappedPanelScratch.Registry();
        bool mapExperts = options.MapExperts ?? ExpertsWouldCrowdMemory(model, keep);
        var mappedWeights = new List<MappedMatrix>();
        LinearWeight Expert(TensorView[] parts, int[] rows, int k)
        {
            if (!mapExperts)
            {
                return Linear(parts, rows, k);
            }

            var weight = LinearWeight.Map(parts, rows, k, keep, mappedNeeds);
            mappedWeights.Add(weight.Mapped!);
            return weight;
        }

        long cacheElements = (long)NumBlocks * BlockSize * c.KvDim;
        var packed = new List<TensorView>();
        LinearWeight Linear(TensorView[] parts, int[] rows, int k, TensorView?[]? biases = null)
        {
            packed.AddRange(parts);
            return LinearWeight.Create(parts, rows, k, biases, keep);
        }

        _layers = new CpuLayerWeights[c.NumLayers];
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = $"model.layers.{i}.";
            TensorView? Bias(string name) => c.AttentionBias ? model.Require(p + name) : null;
            NativeBuffer Norm(string name, int length) => Vector(model.Require(p + name), length, c.NormWeightOffset);
            bool local = c.IsLocalLayer(i);
            bool sparse = c.IsSparseLayer(i);
            bool shared = sparse && c.SharedExpertIntermediateSize > 0;
            _layers[i] = new CpuLayerWeights
            {
                InputNorm = Norm("input_layernorm.weight", c.HiddenSize),
                PostAttentionNorm = Norm(c.SandwichNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight", c.HiddenSize),
                QNorm = c.QkNorm ? Norm("self_attn.q_norm.weight", c.HeadDim) : null,
                KNorm = c.QkNorm ? Norm("self_attn.k_norm.weight", c.HeadDim) : null,
                AttentionOutNorm = c.SandwichNorms ? Norm("post_attention_layernorm.weight", c.HiddenSize) : null,
                MlpOutNorm = c.SandwichNorms ? Norm("post_feedforward_layernorm.weight", c.HiddenSize) : null,
                Local = local,
                LocalRope = local && _invFreqLocal is not null,
                Qkv = Linear(
                    [model.Require(p + "self_attn.q_proj.weight"), model.Require(p + "self_attn.k_proj.weight"), model.Require(p + "self_attn.v_proj.weight")],
                    [c.QDim, c.KvDim, c.KvDim],
                    c.HiddenSize,
                    c.AttentionBias ? [Bias("self_attn.q_proj.bias"), Bias("self_attn.k_proj.bias"), Bias("self_attn.v_proj.bias")] : null),
                O = Linear([model.Require(p + "self_attn.o_proj.weight")], [c.HiddenSize], c.QDim),
                GateUp = sparse && shared
                    ? Linear([model.Require(p + "mlp.gate.weight"), model.Require(p + "mlp.shared_expert_gate.weight")], [c.NumExperts, 1], c.HiddenSize)
                    : sparse
                    ? Linear([model.Require(p + "mlp.gate.weight")], [c.NumExperts], c.HiddenSize)
                    : Linear([model.Require(p + "mlp.gate_proj.weight"), model.Require(p + "mlp.up_proj.weight")], [c.IntermediateSize, c.IntermediateSize], c.HiddenSize),
                Down = sparse ? null : Linear([model.Require(p + "mlp.down_proj.weight")], [c.HiddenSize], c.IntermediateSize),
                ExpertGateUp = sparse
                    ? Enumerable.Range(0, c.NumExperts).Select(e => Expert([model.Require($"{p}mlp.experts.{e}.gate_proj.weight"), model.Require($"{p}mlp.experts.{e}.up_proj.weight")], [c.ExpertIntermediateSize, c.ExpertIntermediateSize], c.HiddenSize)).ToArray()
                    : null,
                ExpertDown = sparse
                    ? Enumerable.Range(0, c.NumExperts).Select(e => Expert([model.Require($"{p}mlp.experts.{e}.down_proj.weight")], [c.HiddenSize], c.ExpertIntermediateSize)).ToArray()
                    : null,
                SharedGateUp = shared
                    ? Linear([model.Require(p + "mlp.shared_expert.gate_proj.weight"), model.Require(p + "mlp.shared_expert.up_proj.weight")], [c.SharedExpertIntermediateSize, c.SharedExpertIntermediateSize], c.HiddenSize)
                    : null,
                SharedDown = shared ? Linear([model.Require(p + "mlp.shared_expert.down_proj.weight")], [c.HiddenSize], c.SharedExpertIntermediateSize) : null,
                KCache = new NativeBuffer(cacheElements),
                VCache = new NativeBuffer(cacheElements),
            };
        }

        _finalNorm = Vector(model.Require("model.norm.weight"), c.HiddenSize, c.NormWeightOffset);
        _embedding = model.Require("model.embed_tokens.weight");
        PackedMatrix.RequireShape(_embedding, [c.VocabSize, c.HiddenSize]);
        bool tied = c.TieWordEmbeddings || !model.Tensors.ContainsKey("lm_head.weight");
        _lmHead = Linear([tied ? _embedding : model.Require("lm_head.weight")], [c.VocabSize], c.HiddenSize);

        // The packed copies are what the kernels read: the file's pages behind them need not stay resident.
        foreach (var t in packed.Where(t => t.IsFileMapped))
        {
            LibC.ReleaseFilePages(t.Data, t.ByteLength);
        }

        _scores = new NativeBuffer[options.Threads];
        for (int t = 0; t < _scores.Length; t++)
        {
            _scores[t] = new NativeBuffer((long)NumBlocks * BlockSize * Config.QueryGroupSize);
        }

        _mappedScratch = mappedNeeds.CreateScratch(options.Threads);
        _expertCache = mappedWeights.Count > 0
            ? new ExpertPanelCache(options.ExpertCacheBytes ?? (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4), [.. mappedWeights])
            : null;
        _work = new StepWork(this);
    }

    public ModelConfig Config { get; }

    public int BlockSize { get; }

    /// <summary>When set, every forward step's team operations are timed into it (see <see cref="StepProfile"/>); null, the default, times nothing.</summary>
    public StepProfile? Profile { get; set; }

    public int NumBlocks { get; }

    /// <summary>Scratch grows with the batch, so only the model's context bounds a CPU runner.</summary>
    public RunnerLimits Limits => RunnerLimits.ContextOnly(Config.MaxPositionEmbeddings);

    public int Threads => _team.ThreadCount;

    /// <summary>The mapped experts' panel cache's counts (<see cref="CpuRunnerOptions.ExpertCacheBytes"/>); null when the experts are packed at load.</summary>
    public ExpertCacheCounters? ExpertCache => _expertCache is { } cache
        ? new ExpertCacheCounters(cache.Hits, cache.Misses, cache.Evictions, cache.UsedBytes, cache.CapacityBytes)
        : null;

    /// <summary>Bytes of packed linear weights a forward pass reads (every layer and the lm_head).</summary>
    public long WeightBytes => _layers.Sum(l => l.AllLinear().Sum(w => w.Bytes)) + _lmHead.Bytes;

    /// <summary>Bytes of the K and V pools of every layer.</summary>
    public long KvCacheBytes => _layers.Sum(l => (l.KCache.Capacity + l.VCache.Capacity) * sizeof(float));

    /// <summary>The weight types the linear layers are held in, with their packed bytes (for reports).</summary>
    public IReadOnlyDictionary<string, long> WeightBytesByType()
    {
        var bytes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var w in _layers.SelectMany(l => l.AllLinear()).Append(_lmHead))
        {
            if (w.F32 is { } f)
            {
                bytes["F32"] = bytes.GetValueOrDefault("F32") + w.Bytes;
                continue;
            }

            if (w.Mapped is { } mapped)
            {
                foreach (var (type, b) in mapped.FileBytesByType())
                {
                    bytes[type + " (mapped)"] = bytes.GetValueOrDefault(type + " (mapped)") + b;
                }

                continue;
            }

            foreach (var part in w.Quant!.Parts)
            {
                string name = part.Format.Type.ToString();
                bytes[name] = bytes.GetValueOrDefault(name) + (part.PanelBytes * part.Panels);
            }
        }

        return bytes;
    }

    public void Forward(ForwardBatch batch, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var c = Config;
        int t = batch.NumTokens;
        if ((long)batch.NumLogitRows * c.VocabSize > logits.Length)
        {
            throw new ArgumentException($"logits span holds {logits.Length} floats, {batch.NumLogitRows} rows x {c.VocabSize} needed", nameof(logits));
        }

        ValidateBatch(batch);
        if (t == 0)
        {
            return;
        }

        EnsureScratch(batch);
        Profile?.BeginStep();
        var w = _work;
        w.Batch = batch;
        w.NumTokens = t;
        w.AttentionParts = AttentionSplit(t);

        // Embedding and rotary angles, once per step.
        w.Op = Op.EmbedAndAngles;
        Dispatch(t);

        int qkvWidth = c.QDim + (2 * c.KvDim);
        foreach (var layer in _layers)
        {
            w.Layer = layer;
            w.Op = Op.InputNorm;
            Dispatch(t);
            Gemm(_normed.Pointer, c.HiddenSize, t, layer.Qkv, _qkv.Pointer, qkvWidth, accumulate: false, StepPhase.QkvProjection);
            w.Op = Op.RopeAndCache;
            Dispatch(t);
            w.Op = Op.Attention;
            Dispatch(t * c.NumKvHeads * w.AttentionParts);
            Residual(_attn.Pointer, c.QDim, t, layer.O, layer.AttentionOutNorm, StepPhase.AttentionOutput);
            w.Op = Op.PostAttentionNorm;
            Dispatch(t);
            if (layer.ExpertGateUp is not null)
            {
                Experts(layer, t);
                continue;
            }

            Gemm(_normed.Pointer, c.HiddenSize, t, layer.GateUp, _gateUp.Pointer, 2 * c.IntermediateSize, accumulate: false, StepPhase.GateUpProjection);
            w.GluIn = _gateUp.Pointer;
            w.GluOut = _act.Pointer;
            w.GluWidth = c.IntermediateSize;
            w.Op = Op.Activation;
            Dispatch(t);
            Residual(_act.Pointer, c.IntermediateSize, t, layer.Down!, layer.MlpOutNorm, StepPhase.DownProjection);
        }

        int rows = batch.NumLogitRows;
        if (rows == 0)
        {
            return;
        }

        w.Op = Op.FinalNorm;
        Dispatch(rows);
        fixed (float* l = logits)
        {
            Gemm(_logitRows.Pointer, c.HiddenSize, rows, _lmHead, l, c.VocabSize, accumulate: false, StepPhase.LmHead);
            if (c.FinalLogitSoftcap is not null)
            {
                w.Logits = l;
                w.Op = Op.SoftcapLogits;
                Dispatch(rows);
            }
        }
    }

    /// <summary>
    /// A sparse MLP: router logits, each token's top-k experts (softmax, then top-k, renormalised
    /// when the model says so), then the tokens grouped by expert so each expert's weights are read
    /// once per step for all its tokens; each (token, slot) row is computed by the same row-wise
    /// kernels whatever else shares its expert, and a token's slots are summed in rank order, so the
    /// result does not depend on the batch.
    /// </summary>
    private void Experts(CpuLayerWeights layer, int t)
    {
        var c = Config;
        var w = _work;
        int k = c.NumExpertsPerToken, h = c.HiddenSize, f = c.ExpertIntermediateSize;
        Gemm(_normed.Pointer, h, t, layer.GateUp, _router.Pointer, _routerWidth, accumulate: false, StepPhase.Router);
        w.Op = Op.Route;
        Dispatch(t);

        // Group the (token, slot) pairs by expert, in token order within an expert.
        Array.Clear(_expertCount);
        for (int i = 0; i < t * k; i++)
        {
            _expertCount[_routeExpert[i]]++;
        }

        int offset = 0;
        for (int e = 0; e < c.NumExperts; e++)
        {
            _expertStart[e] = offset;
            offset += _expertCount[e];
            _expertCount[e] = 0;
        }

        for (int i = 0; i < t * k; i++)
        {
            int e = _routeExpert[i];
            int row = _expertStart[e] + _expertCount[e]++;
            _rowOfSlot[i] = row;
            _slotOfRow[row] = i;
        }

        w.Op = Op.GatherExpertRows;
        Dispatch(t * k);
        for (int e = 0; e < c.NumExperts; e++)
        {
            int n = _expertCount[e];
            if (n > 0)
            {
                long r0 = _expertStart[e];
                Gemm(_expertIn.Pointer + (r0 * h), h, n, layer.ExpertGateUp![e], _expertGateUp.Pointer + (r0 * 2 * f), 2 * f, accumulate: false, StepPhase.Experts);
            }
        }

        w.GluIn = _expertGateUp.Pointer;
        w.GluOut = _expertAct.Pointer;
        w.GluWidth = f;
        w.Op = Op.Activation;
        Dispatch(t * k);
        for (int e = 0; e < c.NumExperts; e++)
        {
            int n = _expertCount[e];
            if (n > 0)
            {
                long r0 = _expertStart[e];
                Gemm(_expertAct.Pointer + (r0 * f), f, n, layer.ExpertDown![e], _expertOut.Pointer + (r0 * h), h, accumulate: false, StepPhase.Experts);
            }
        }

        if (layer.SharedGateUp is { } sharedGateUp)
        {
            // Every token through the shared expert, from the same normed rows (before CombineExperts reuses them).
            int fs = c.SharedExpertIntermediateSize;
            Gemm(_normed.Pointer, h, t, sharedGateUp, _sharedGateUp.Pointer, 2 * fs, accumulate: false, StepPhase.SharedExpert);
            w.GluIn = _sharedGateUp.Pointer;
            w.GluOut = _sharedAct.Pointer;
            w.GluWidth = fs;
            w.Op = Op.Activation;
            Dispatch(t);
            Gemm(_sharedAct.Pointer, fs, t, layer.SharedDown!, _sharedOut.Pointer, h, accumulate: false, StepPhase.SharedExpert);
        }

        w.Op = Op.CombineExperts;
        Dispatch(t);
    }

    /// <summary>
    /// hidden += x·Wᵀ, or with a post-norm (Gemma) hidden += RMSNorm(x·Wᵀ)·w: the projection goes to
    /// a scratch row first and is normalised and added per token.
    /// </summary>
    private void Residual(float* x, int ldx, int t, LinearWeight weight, NativeBuffer? postNorm, StepPhase phase)
    {
        var c = Config;
        if (postNorm is null)
        {
            Gemm(x, ldx, t, weight, _hidden.Pointer, c.HiddenSize, accumulate: true, phase);
            return;
        }

        Gemm(x, ldx, t, weight, _branch.Pointer, c.HiddenSize, accumulate: false, phase);
        _work.PostNorm = postNorm;
        _work.Op = Op.AddNormed;
        Dispatch(t);
    }

    public void CopyBlocks(ReadOnlySpan<int> sources, ReadOnlySpan<int> destinations)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (sources.Length != destinations.Length)
        {
            throw new ArgumentException($"CopyBlocks: {sources.Length} sources but {destinations.Length} destinations");
        }

        long blockElements = (long)BlockSize * Config.KvDim;
        for (int i = 0; i < sources.Length; i++)
        {
            RequireBlock(sources[i], "CopyBlocks source");
            RequireBlock(destinations[i], "CopyBlocks destination");
            foreach (var layer in _layers)
            {
                foreach (var pool in (ReadOnlySpan<NativeBuffer>)[layer.KCache, layer.VCache])
                {
                    Buffer.MemoryCopy(pool.Pointer + (sources[i] * blockElements), pool.Pointer + (destinations[i] * blockElements), blockElements * sizeof(float), blockElements * sizeof(float));
                }
            }
        }
    }

    /// <summary>One layer's K (or V) pool, [numBlocks, blockSize, numKvHeads, headDim]; for tests and kernel comparisons.</summary>
    public ReadOnlySpan<float> KvPool(int layer, bool values)
    {
        var buffer = values ? _layers[layer].VCache : _layers[layer].KCache;
        return new ReadOnlySpan<float>(buffer.Pointer, checked((int)buffer.Capacity));
    }

    private void RequireBlock(int block, string what)
    {
        if ((uint)block >= (uint)NumBlocks)
        {
            throw new ArgumentOutOfRangeException(what, block, $"{what}: block {block} is outside the pool of {NumBlocks} blocks");
        }
    }

    private void ValidateBatch(ForwardBatch batch)
    {
        var c = Config;
        for (int i = 0; i < batch.NumTokens; i++)
        {
            if ((uint)batch.TokenIds[i] >= (uint)c.VocabSize)
            {
                throw new ArgumentException($"token {i}: id {batch.TokenIds[i]} is outside the vocabulary of {c.VocabSize}");
            }

            if ((uint)batch.SlotMapping[i] >= (uint)(NumBlocks * BlockSize))
            {
                throw new ArgumentException($"token {i}: KV slot {batch.SlotMapping[i]} is outside the pool of {NumBlocks} x {BlockSize}");
            }
        }

        int? window = c.WindowOfEveryLayer;
        for (int s = 0; s < batch.NumSeqs; s++)
        {
            int ctx = batch.ContextLens[s];

            // With a window on every layer, entries before the first query's window may be dropped
            // (KvBlockTable.Dropped); attention never reads them, so only the rest must be in the pool.
            int firstQuery = ctx;
            for (int i = batch.QueryStart[s]; i < batch.QueryStart[s + 1]; i++)
            {
                firstQuery = Math.Min(firstQuery, batch.Positions[i]);
            }

            int firstBlock = window is int w ? Math.Max(0, firstQuery + 1 - w) / BlockSize : 0;
            long visible = (long)ctx - ((long)firstBlock * BlockSize);
            if (ctx < 0 || visible > (long)NumBlocks * BlockSize)
            {
                // Also bounds the per-thread score buffers, which hold one pool's worth of positions.
                throw new ArgumentException($"sequence {s}: context length {ctx} ({visible} read from the cache) is outside 0..{(long)NumBlocks * BlockSize} (the whole KV pool)");
            }

            int blocks = (ctx + BlockSize - 1) / BlockSize;
            if (blocks > batch.MaxBlocksPerSeq)
            {
                throw new ArgumentException($"sequence {s}: context of {ctx} tokens needs {blocks} blocks, the block table holds {batch.MaxBlocksPerSeq}");
            }

            var table = batch.BlockTable(s);
            for (int b = firstBlock; b < blocks; b++)
            {
                if ((uint)table[b] >= (uint)NumBlocks)
                {
                    throw new ArgumentException($"sequence {s}: block table entry {b} is block {table[b]}, outside the pool of {NumBlocks} blocks");
                }
            }

            for (int i = batch.QueryStart[s]; i < batch.QueryStart[s + 1]; i++)
            {
                if (batch.Positions[i] < 0 || batch.Positions[i] >= ctx)
                {
                    throw new ArgumentException($"sequence {s}: token {i} has position {batch.Positions[i]} outside its context of {ctx}");
                }
            }
        }

        for (int r = 0; r < batch.NumLogitRows; r++)
        {
            if ((uint)batch.LogitTokenIndex[r] >= (uint)batch.NumTokens)
            {
                throw new ArgumentException($"logits row {r} names token {batch.LogitTokenIndex[r]} of a batch of {batch.NumTokens}");
            }
        }

        if (batch.NumSeqs > 0 && batch.QueryStart[batch.NumSeqs] != batch.NumTokens)
        {
            throw new ArgumentException($"QueryStart[{batch.NumSeqs}] is {batch.QueryStart[batch.NumSeqs]} but the batch has {batch.NumTokens} tokens");
        }
    }

    private void EnsureScratch(ForwardBatch batch)
    {
        var c = Config;
        long t = batch.NumTokens;
        _hidden.EnsureCapacity(t * c.HiddenSize);
        _normed.EnsureCapacity(t * c.HiddenSize);
        _qkv.EnsureCapacity(t * (c.QDim + (2 * c.KvDim)));
        _attn.EnsureCapacity(t * c.QDim);
        _gateUp.EnsureCapacity(t * 2 * c.IntermediateSize);
        _act.EnsureCapacity(t * c.IntermediateSize);
        _cos.EnsureCapacity(t * (c.RotaryDim / 2));
        _sin.EnsureCapacity(t * (c.RotaryDim / 2));
        if (_invFreqLocal is not null)
        {
            _cosLocal.EnsureCapacity(t * (c.RotaryDim / 2));
            _sinLocal.EnsureCapacity(t * (c.RotaryDim / 2));
        }

        if (c.SandwichNorms)
        {
            _branch.EnsureCapacity(t * c.HiddenSize);
        }

        if (c.IsMoe)
        {
            long slots = t * c.NumExpertsPerToken;
            _router.EnsureCapacity(t * _routerWidth);
            if (c.SharedExpertIntermediateSize > 0)
            {
                _sharedGateUp.EnsureCapacity(t * 2 * c.SharedExpertIntermediateSize);
                _sharedAct.EnsureCapacity(t * c.SharedExpertIntermediateSize);
                _sharedOut.EnsureCapacity(t * c.HiddenSize);
            }

            _expertIn.EnsureCapacity(slots * c.HiddenSize);
            _expertGateUp.EnsureCapacity(slots * 2 * c.ExpertIntermediateSize);
            _expertAct.EnsureCapacity(slots * c.ExpertIntermediateSize);
            _expertOut.EnsureCapacity(slots * c.HiddenSize);
            if (_routeExpert.Length < slots)
            {
                _routeExpert = new int[slots];
                _routeWeight = new float[slots];
                _rowOfSlot = new int[slots];
                _slotOfRow = new int[slots];
            }
        }
        _logitRows.EnsureCapacity(Math.Max(1, batch.NumLogitRows) * (long)c.HiddenSize);
        if (_tokenSeq.Length < batch.MaxTokens)
        {
            _tokenSeq = new int[batch.MaxTokens];
        }

        for (int s = 0; s < batch.NumSeqs; s++)
        {
            for (int i = batch.QueryStart[s]; i < batch.QueryStart[s + 1]; i++)
            {
                _tokenSeq[i] = s;
            }
        }
    }

    /// <summary>
    /// Into how many parts each KV head's query heads are cut for a step of <paramref name="tokens"/>
    /// tokens. A whole group per unit reads its keys and values once for all its heads, but with few
    /// tokens and few KV heads (one, for multi-query models) there would be fewer units than threads
    /// to share them: the group is halved until there are two units a thread or it cannot be halved.
    /// A head's bits do not depend on the part it is computed in.
    /// </summary>
    private int AttentionSplit(int tokens)
    {
        int group = Config.QueryGroupSize;
        int parts = 1;
        while (group % (parts * 2) == 0 && (long)tokens * Config.NumKvHeads * parts < 2L * _team.ThreadCount)
        {
            parts *= 2;
        }

        return parts;
    }

    /// <summary>Runs the current op over <paramref name="units"/> units (the team runs tiny ops on the calling thread: same code, same result).</summary>
    private void Dispatch(int units) => RunTeam(_work, units, _team.ChunkFor(units), PhaseOf(_work.Op));

    /// <summary>The team runs one operation; with a <see cref="Profile"/>, timed as <paramref name="phase"/>.</summary>
    private void RunTeam(IParallelWork work, int units, int chunk, StepPhase phase)
    {
        if (Profile is not { } profile)
        {
            _team.Run(work, units, chunk);
            return;
        }

        long start = Stopwatch.GetTimestamp();
        _team.Run(work, units, chunk);
        profile.Record(phase, Stopwatch.GetTimestamp() - start);
    }

    private static StepPhase PhaseOf(Op op) => op switch
    {
        Op.EmbedAndAngles => StepPhase.Embedding,
        Op.InputNorm or Op.PostAttentionNorm or Op.AddNormed or Op.FinalNorm => StepPhase.Norms,
        Op.RopeAndCache => StepPhase.RopeAndCache,
        Op.Attention => StepPhase.Attention,
        Op.Activation => StepPhase.Activation,
        Op.Route or Op.GatherExpertRows or Op.CombineExperts => StepPhase.Routing,
        Op.QuantizeRows => StepPhase.QuantizeRows,
        Op.SoftcapLogits => StepPhase.LmHead,
        _ => throw new InvalidOperationException($"{op} is timed by its caller, not by Dispatch"),
    };

    private void Gemm(float* x, int ldx, int m, LinearWeight w, float* y, int ldy, bool accumulate, StepPhase phase)
    {
        var g = _work;
        if (w.TakesQuantizedRows)
        {
            // The input rows are quantized once, then every panel's tiles read them.
            _quantized.EnsureCapacity(m, w.K);
            g.Op = Op.QuantizeRows;
            g.GemmX = x;
            g.GemmLdx = ldx;
            g.GemmW = w;
            Dispatch(m);
        }

        g.Op = Op.Gemm;
        g.GemmX = x;
        g.GemmLdx = ldx;
        g.GemmM = m;
        g.GemmW = w;
        g.GemmY = y;
        g.GemmLdy = ldy;
        g.GemmAccumulate = accumulate;
        // A thread's claims halve what is left of its segment down to a sixteenth of its share, so a
        // decode step's many small GEMMs do not end with one thread waiting on a large last claim.
        int chunk = _team.ChunkFor(w.Panels, chunksPerThread: 16);
        if (w.Mapped is not { } mapped)
        {
            RunTeam(g, w.Panels, chunk, phase);
            return;
        }

        g.GemmSource = _expertCache?.Acquire(mapped) ?? MappedMatrix.Source.Scratch;
        try
        {
            RunTeam(g, w.Panels, chunk, phase);
        }
        catch when (g.GemmSource == MappedMatrix.Source.Fill)
        {
            // Some panels were never packed: the buffer must not be read as this weight's.
            _expertCache!.Discard(mapped);
            throw;
        }
    }

    /// <summary>
    /// Whether packing every expert at load would take more than half the memory the runtime reports
    /// available (quantized experts kept about their file size, others as f32): then they are read
    /// from the mapped file instead (<see cref="CpuRunnerOptions.MapExperts"/>).
    /// </summary>
    private static bool ExpertsWouldCrowdMemory(LoadedModel model, bool keepQuantized)
    {
        long packed = 0;
        foreach (var (name, t) in model.Tensors)
        {
            if (name.Contains(".mlp.experts.", StringComparison.Ordinal))
            {
                packed += keepQuantized && QuantLayouts.IsBlockQuantized(t.DType) ? t.ByteLength : t.ElementCount * sizeof(float);
            }
        }

        return packed > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
    }

    /// <summary>A 1-D weight as f32; <paramref name="offset"/> is added to every value (Gemma's 1 + w norms, added once here as Hugging Face adds it in f32).</summary>
    private static NativeBuffer Vector(TensorView t, int length, float offset = 0f)
    {
        PackedMatrix.RequireShape(t, [length]);
        var b = new NativeBuffer(length);
        var span = new Span<float>(b.Pointer, length);
        DTypeConversion.ToF32(t, 0, span);
        if (offset != 0f)
        {
            for (int i = 0; i < length; i++)
            {
                span[i] += offset;
            }
        }

        return b;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _team.Dispose();
        foreach (var l in _layers)
        {
            l.Dispose();
        }

        _finalNorm.Dispose();
        _lmHead.Dispose();
        _quantized.Dispose();
        _expertCache?.Dispose();
        foreach (var s in _mappedScratch)
        {
            s.Dispose();
        }

        foreach (var b in (NativeBuffer[])[_hidden, _normed, _qkv, _attn, _gateUp, _act, _cos, _sin, _cosLocal, _sinLocal, _branch, _router, _expertIn, _expertGateUp, _expertAct, _expertOut, _sharedGateUp, _sharedAct, _sharedOut, _logitRows, .. _scores])
        {
            b.Dispose();
        }
    }
}
