using Folio.Cuda.Kernels;
using Folio.Engine.Execution;
using Folio.Models;

namespace Folio.Cuda.Runner;

/// <summary>
/// The CUDA backend's model executor: bf16 weights on the device, cuBLAS GEMMs (bf16 in, f32
/// accumulate), the kernels of native-kernels/*.cu, a bf16 paged KV cache in the CPU backend's
/// layout, sized from free device memory after a profiling pass, and CUDA graphs for decode steps
/// of common batch sizes. The residual stream, q/k/v and every softmax stay f32. Beyond Llama it runs
/// what <see cref="CudaArchitectureSupport"/> lists (Qwen3's q/k norms, Gemma 2/3, mixtures of
/// experts), following the CPU backend's layer sequence.
/// </summary>
public sealed unsafe partial class CudaModelRunner : IModelRunner
{
    private const int CacheElementBytes = 2; // bf16

    private readonly IDeviceApi _api;
    private readonly List<ulong> _owned = [];
    private readonly Dictionary<int, int> _graphs = [];
    private readonly int _maxTokens, _maxSeqs, _maxBlocksPerSeq, _maxModelLen, _maxParts, _qkvDim, _singlePassMax, _partition;
    private readonly ulong _embedding, _finalNorm, _lmHead, _invFreq, _invFreqLocal;

    /// <summary>YaRN's and LongRoPE's scale on cos and sin of the global rope (1 for the rest), as the CPU backend applies it.</summary>
    private readonly float _ropeAttentionFactor;
    private readonly DeviceLayer[] _layers = [];

    // activations
    private readonly ulong _residual, _normed, _qkv, _attn, _proj, _gateUp, _act, _rows, _rowsNormed, _logits, _splitOut, _splitMax, _splitSum;

    // step inputs: one host staging area (page-locked on CUDA) and its device twin, same layout
    private readonly int* _staging;
    private readonly ulong _inputs;
    private readonly int _offIds, _offPos, _offSlots, _offQs, _offCtx, _offTables, _offLogitIdx, _inputInts;

    // kernels
    private readonly int _kEmbedding, _kRmsNorm, _kAddBias, _kRotary, _kCache, _kDecode, _kReduce, _kPrefill, _kActivation, _kGather;
    private readonly int _kQkNorm, _kSandwichNorm, _kSoftcap;

    private ulong _kPool, _vPool;
    private long _layerCacheBytes;
    private int[] _graphSizes = [];

    public CudaModelRunner(LoadedModel model, CudaRunnerOptions options)
        : this(model, options, CreateDevice(options))
    {
    }

    internal CudaModelRunner(LoadedModel model, CudaRunnerOptions options, IDeviceApi api)
    {
        _api = api;
        try
        {
            options.Validate();
            Config = model.Config;
            var c = Config;
            if (CudaArchitectureSupport.Missing(c) is { Count: > 0 } missing)
            {
                // A model that needs a part no CUDA kernel implements runs on the CPU backend.
                throw new NotSupportedException($"{model.Source}: {c.Architecture} needs {string.Join(", ", missing)}, which the CUDA backend does not implement yet; run it with the CPU backend");
            }

            BlockSize = options.BlockSize;
            // Buffers scale with MaxModelLen (block tables, split-K partitions): default to 8192 tokens
            // rather than a 128K max_position_embeddings no step schedules.
            _maxModelLen = options.MaxModelLen > 0 ? options.MaxModelLen : Math.Min(c.MaxPositionEmbeddings, 8192);
            _maxTokens = options.MaxNumBatchedTokens;
            _maxSeqs = options.MaxNumSeqs;
            _maxBlocksPerSeq = (_maxModelLen + BlockSize - 1) / BlockSize;
            _partition = options.PartitionSize;
            _maxParts = KernelShapes.Partitions(_maxModelLen, _partition);
            _qkvDim = c.QDim + (2 * c.KvDim);
            _singlePassMax = options.SinglePassMaxContext;

            _kEmbedding = api.Kernel("folio_embedding_bf16");
            _kRmsNorm = api.Kernel("folio_rms_norm_bf16");
            _kAddBias = api.Kernel("folio_add_bias_bf16");
            _kRotary = api.Kernel("folio_rotary");
            _kCache = api.Kernel("folio_reshape_and_cache_bf16");
            _kDecode = api.Kernel("folio_paged_attention_decode_bf16");
            _kReduce = api.Kernel("folio_paged_attention_reduce_bf16");
            _kPrefill = api.Kernel("folio_prefill_attention_bf16");
            _kActivation = api.Kernel(c.Activation == MlpActivation.GeluTanh ? "folio_gelu_tanh_and_mul_bf16" : "folio_silu_and_mul_bf16");
            _kGather = api.Kernel("folio_gather_rows");
            _kQkNorm = api.Kernel("folio_qk_norm_bf16");
            _kSandwichNorm = api.Kernel("folio_sandwich_norm_bf16");
            _kSoftcap = api.Kernel("folio_softcap");

            _embedding = DeviceWeights.Upload(api, Own, model.Require("model.embed_tokens.weight"));
            _finalNorm = DeviceWeights.Upload(api, Own, model.Require("model.norm.weight"));
            // As the CPU backend: a checkpoint without lm_head.weight ties it to the embedding (Gemma).
            bool tied = c.TieWordEmbeddings || !model.Tensors.ContainsKey("lm_head.weight");
            _lmHead = tied ? _embedding : DeviceWeights.Upload(api, Own, model.Require("lm_head.weight"));
            _layers = new DeviceLayer[c.NumLayers];
            for (int i = 0; i < c.NumLayers; i++)
            {
                _layers[i] = DeviceWeights.UploadLayer(api, Own, model, i);
            }

            // As the CPU backend: LongRoPE's factor set is chosen once by the model's context
            // (max_position_embeddings against original_max_position_embeddings), not per sequence.
            _invFreq = UploadDoubles(RopeFrequencies.Inverse(c));
            _ropeAttentionFactor = (float)RopeFrequencies.AttentionFactor(c.RopeScaling);
            // Gemma 3's local layers rotate with their own base (rope_local_base_freq).
            _invFreqLocal = c.RopeLocalTheta is float localTheta ? UploadDoubles(RopeFrequencies.Inverse(c.RotaryDim, localTheta, null)) : _invFreq;

            long t = _maxTokens;
            _residual = Own(t * c.HiddenSize * 4);
            _normed = Own(t * c.HiddenSize * 2);
            _qkv = Own(t * _qkvDim * 4);
            _attn = Own(t * c.QDim * 2);
            _proj = Own(t * c.HiddenSize * 4);
            _gateUp = Own(t * 2 * c.IntermediateSize * 4);
            _act = Own(t * c.IntermediateSize * 2);
            _rows = Own((long)_maxSeqs * c.HiddenSize * 4);
            _rowsNormed = Own((long)_maxSeqs * c.HiddenSize * 2);
            _logits = Own((long)_maxSeqs * c.VocabSize * 4);
            _splitOut = Own((long)_maxSeqs * c.NumHeads * _maxParts * c.HeadDim * 4);
            _splitMax = Own((long)_maxSeqs * c.NumHeads * _maxParts * 4);
            _splitSum = Own((long)_maxSeqs * c.NumHeads * _maxParts * 4);
            if (c.IsMoe)
            {
                _moe = new MoeBuffers(c, _maxTokens, Own, api);
            }

            _offIds = 0;
            _offPos = _offIds + _maxTokens;
            _offSlots = _offPos + _maxTokens;
            _offQs = _offSlots + _maxTokens;
            _offCtx = _offQs + _maxSeqs + 1;
            _offTables = _offCtx + _maxSeqs;
            _offLogitIdx = _offTables + (_maxSeqs * _maxBlocksPerSeq);
            _inputInts = _offLogitIdx + _maxTokens;
            _staging = (int*)api.AllocateHost(_inputInts * 4L);
            _inputs = Own(_inputInts * 4L);

            NumBlocks = options.NumBlocksOverride > 0 ? options.NumBlocksOverride : ProfileAndSizePool(options.GpuMemoryUtilization);
            AllocatePool(NumBlocks);
            // A mixture of experts reads its experts' row counts back to the host each layer (the
            // per-expert GEMMs are sized by them), which a captured graph cannot do.
            if (api.SupportsGraphs && !c.IsMoe)
            {
                foreach (int b in options.GraphBatchSizes.Where(b => b >= 1 && b <= _maxSeqs).Distinct().Order())
                {
                    CaptureDecodeGraph(b);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public ModelConfig Config { get; } = null!;
    public int BlockSize { get; }
    public int NumBlocks { get; }

    /// <summary>Device buffers (block tables, split-K partitions, activations) are sized for these at start.</summary>
    public RunnerLimits Limits => new(_maxModelLen, _maxSeqs, _maxTokens);
    public string DeviceName => _api.DeviceName;
    public int CompiledArch => _api.CompiledArch;
    public int MaxModelLen => _maxModelLen;
    public IReadOnlyList<int> GraphBatchSizes => _graphSizes;

    private enum AttentionMode
    {
        Prefill,
        DecodeSinglePass,
        DecodeSplitK,
    }

    public void Forward(ForwardBatch batch, Span<float> logits)
    {
        _api.Bind();
        var c = Config;
        int nt = batch.NumTokens, ns = batch.NumSeqs, nl = batch.NumLogitRows;
        if (nt > _maxTokens || ns > _maxSeqs || nl > _maxSeqs)
        {
            throw new ArgumentException($"batch of {nt} tokens / {ns} sequences / {nl} logit rows exceeds the runner's MaxNumBatchedTokens {_maxTokens} / MaxNumSeqs {_maxSeqs}");
        }

        if (logits.Length < (long)nl * c.VocabSize)
        {
            throw new ArgumentException($"logits span holds {logits.Length} values, {nl} rows x {c.VocabSize} needed");
        }

        int maxCtx = 0, maxQ = 0;
        for (int s = 0; s < ns; s++)
        {
            maxCtx = Math.Max(maxCtx, batch.ContextLens[s]);
            maxQ = Math.Max(maxQ, batch.QueryLength(s));
            if (batch.ContextLens[s] > _maxModelLen)
            {
                throw new ArgumentException($"sequence {s}: context of {batch.ContextLens[s]} tokens exceeds MaxModelLen {_maxModelLen} (Folio:Engine:MaxModelLen)");
            }
        }

        for (int i = 0; i < nt; i++)
        {
            if ((uint)batch.SlotMapping[i] >= (uint)(NumBlocks * BlockSize))
            {
                throw new ArgumentException($"token {i}: KV slot {batch.SlotMapping[i]} is outside the pool of {NumBlocks} x {BlockSize}");
            }
        }

        bool decode = nt == ns;
        int graphSize = 0;
        if (decode && nl == ns)
        {
            foreach (int b in _graphSizes)
            {
                if (b >= ns)
                {
                    graphSize = b;
                    break;
                }
            }
        }

        StageInputs(batch, padTo: graphSize);
        UploadInputs(Math.Max(ns, graphSize), Math.Max(nl, graphSize));
        if (graphSize > 0)
        {
            _api.LaunchGraph(_graphs[graphSize]);
        }
        else
        {
            // Single pass while the context fits one block's shared memory and the grid (heads x
            // sequences) fills the device; split-K when few long sequences would leave SMs idle.
            bool fewBlocks = ns * c.NumHeads < 256 && maxCtx > 2 * _partition;
            var mode = !decode ? AttentionMode.Prefill : maxCtx <= _singlePassMax && !fewBlocks ? AttentionMode.DecodeSinglePass : AttentionMode.DecodeSplitK;
            EnqueueForward(nt, ns, nl, mode, maxCtx, maxQ);
        }

        fixed (float* dst = logits)
        {
            _api.Download(dst, _logits, (long)nl * c.VocabSize * 4);
            _api.Synchronize();
        }
    }

    public void CopyBlocks(ReadOnlySpan<int> sources, ReadOnlySpan<int> destinations)
    {
        _api.Bind();
        long blockBytes = (long)BlockSize * Config.KvDim * CacheElementBytes;
        for (int i = 0; i < sources.Length; i++)
        {
            if ((uint)sources[i] >= (uint)NumBlocks || (uint)destinations[i] >= (uint)NumBlocks)
            {
                throw new ArgumentOutOfRangeException(nameof(sources), $"block copy {sources[i]} -> {destinations[i]} is outside the pool of {NumBlocks} blocks");
            }
        }

        for (int l = 0; l < Config.NumLayers; l++)
        {
            ulong off = (ulong)(l * _layerCacheBytes);
            for (int i = 0; i < sources.Length; i++)
            {
                ulong src = off + (ulong)(sources[i] * blockBytes), dst = off + (ulong)(destinations[i] * blockBytes);
                _api.Copy(_kPool + dst, _kPool + src, blockBytes);
                _api.Copy(_vPool + dst, _vPool + src, blockBytes);
            }
        }

        _api.Synchronize();
    }

    /// <summary>Copies the batch into the staging area; decode batches are padded with harmless rows (slot -1, context 1, block 0).</summary>
    private void StageInputs(ForwardBatch b, int padTo)
    {
        int* s = _staging;
        int nt = b.NumTokens, ns = b.NumSeqs;
        int rows = Math.Max(padTo, ns);
        int tokens = Math.Max(padTo, nt);
        for (int i = 0; i < tokens; i++)
        {
            bool real = i < nt;
            s[_offIds + i] = real ? b.TokenIds[i] : 0;
            s[_offPos + i] = real ? b.Positions[i] : 0;
            s[_offSlots + i] = real ? b.SlotMapping[i] : -1;
        }

        for (int q = 0; q <= rows; q++)
        {
            s[_offQs + q] = q <= ns ? b.QueryStart[q] : nt + (q - ns);
        }

        for (int q = 0; q < rows; q++)
        {
            bool real = q < ns;
            s[_offCtx + q] = real ? b.ContextLens[q] : 1;
            int blocks = real ? (b.ContextLens[q] + BlockSize - 1) / BlockSize : 1;
            var table = real ? b.BlockTable(q) : default;
            for (int j = 0; j < blocks; j++)
            {
                s[_offTables + (q * _maxBlocksPerSeq) + j] = real ? table[j] : 0;
            }
        }

        int nl = Math.Max(padTo, b.NumLogitRows);
        for (int r = 0; r < nl; r++)
        {
            s[_offLogitIdx + r] = r < b.NumLogitRows ? b.LogitTokenIndex[r] : r;
        }
    }

    /// <summary>Copies the used part of the staged inputs: everything up to the last used block-table row, and the logit rows.</summary>
    private void UploadInputs(int rows, int logitRows)
    {
        _api.Upload(_inputs, _staging, (_offTables + ((long)rows * _maxBlocksPerSeq)) * 4);
        _api.Upload(In(_offLogitIdx), _staging + _offLogitIdx, Math.Max(logitRows, 1) * 4L);
    }

    private ulong In(int offsetInts) => _inputs + ((ulong)offsetInts * 4);

    /// <summary>Queues one forward pass (also what a CUDA graph captures).</summary>
    private void EnqueueForward(int nt, int ns, int nl, AttentionMode mode, int maxCtx, int maxQ)
    {
        var c = Config;
        int h = c.HiddenSize, inter = c.IntermediateSize;
        int rt = KernelShapes.RowThreads, st = KernelShapes.SmallThreads;
        float eps = c.RmsNormEps, offset = c.NormWeightOffset;
        int interleaved = c.RopeStyle == RopeStyle.Interleaved ? 1 : 0;

        _api.Launch(_kEmbedding, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_residual).Ptr(_embedding).Ptr(In(_offIds)).Int(h).Int(c.VocabSize).Float(c.EmbeddingScale));
        for (int l = 0; l < c.NumLayers; l++)
        {
            var w = _layers[l];
            // residual += previous MLP output (none before layer 0; Gemma normalises it first); normed = rmsnorm(residual)
            AddAndNorm(nt, l == 0 ? 0UL : _proj, l == 0 ? 0UL : _layers[l - 1].MlpOutNorm, w.InputNorm, _normed);
            _api.Gemm(_normed, w.Qkv, _qkv, nt, _qkvDim, h);
            if (w.QkvBias != 0)
            {
                _api.Launch(_kAddBias, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_qkv).Ptr(w.QkvBias).Int(_qkvDim));
            }

            ulong q = _qkv, k = q + ((ulong)c.QDim * 4), v = k + ((ulong)c.KvDim * 4);
            if (w.QNorm != 0)
            {
                _api.Launch(_kQkNorm, (nt, 1, 1), st, 0, new KernelArgs().Ptr(q).Ptr(k).Ptr(w.QNorm).Ptr(w.KNorm).Int(_qkvDim).Int(_qkvDim)
                    .Int(c.NumHeads).Int(c.NumKvHeads).Int(c.HeadDim).Float(eps).Float(offset));
            }

            // Gemma 3's local layers rotate with their own base and no attention factor, as on the CPU backend.
            bool localRope = w.Local && c.RopeLocalTheta is not null;
            _api.Launch(_kRotary, (nt, 1, 1), st, 0, new KernelArgs().Ptr(q).Ptr(k).Ptr(In(_offPos)).Ptr(localRope ? _invFreqLocal : _invFreq)
                .Int(_qkvDim).Int(_qkvDim).Int(c.NumHeads).Int(c.NumKvHeads).Int(c.HeadDim).Int(c.RotaryDim).Int(interleaved).Float(localRope ? 1f : _ropeAttentionFactor));
            ulong kc = _kPool + (ulong)(l * _layerCacheBytes), vc = _vPool + (ulong)(l * _layerCacheBytes);
            _api.Launch(_kCache, (nt, 1, 1), st, 0, new KernelArgs().Ptr(k).Ptr(v).Ptr(kc).Ptr(vc).Ptr(In(_offSlots)).Int(_qkvDim).Int(_qkvDim).Int(c.NumKvHeads).Int(c.HeadDim));
            EnqueueAttention(mode, ns, maxCtx, maxQ, q, kc, vc, w.Local ? c.SlidingWindow!.Value : 0);
            _api.Gemm(_attn, w.O, _proj, nt, h, c.QDim);
            AddAndNorm(nt, _proj, w.AttentionOutNorm, w.PostAttentionNorm, _normed);
            if (w.Sparse)
            {
                EnqueueExperts(w, nt);
                continue;
            }

            // A dense MLP: every layer of a dense model, mlp_only_layers of a sparse one.

            _api.Gemm(_normed, w.GateUp, _gateUp, nt, 2 * inter, h);
            _api.Launch(_kActivation, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_act).Ptr(_gateUp).Int(inter));
            _api.Gemm(_act, w.Down, _proj, nt, h, inter);
        }

        // residual += last MLP output over every token, then only the rows that want logits.
        AddAndNorm(nt, _proj, _layers[^1].MlpOutNorm, _finalNorm, _normed);
        _api.Launch(_kGather, (nl, 1, 1), rt, 0, new KernelArgs().Ptr(_rows).Ptr(_residual).Ptr(In(_offLogitIdx)).Int(h));
        _api.Launch(_kRmsNorm, (nl, 1, 1), rt, 0, new KernelArgs().Ptr(_rowsNormed).Ptr(_rows).Ptr(0UL).Ptr(_finalNorm).Float(eps).Float(offset).Int(h));
        _api.Gemm(_rowsNormed, _lmHead, _logits, nl, c.VocabSize, h);
        if (c.FinalLogitSoftcap is float cap)
        {
            _api.Launch(_kSoftcap, (nl, 1, 1), rt, 0, new KernelArgs().Ptr(_logits).Int(c.VocabSize).Float(cap));
        }
    }

    /// <summary>
    /// residual += x (or, with a post-norm, += rmsnorm(x) · postNorm: Gemma's sandwich), then
    /// output = rmsnorm(residual) · norm. x = 0 normalises the residual as it is.
    /// </summary>
    private void AddAndNorm(int nt, ulong x, ulong postNorm, ulong norm, ulong output)
    {
        var c = Config;
        var args = postNorm != 0 && x != 0
            ? new KernelArgs().Ptr(output).Ptr(_residual).Ptr(x).Ptr(postNorm).Ptr(norm)
            : new KernelArgs().Ptr(output).Ptr(_residual).Ptr(x).Ptr(norm);
        _api.Launch(postNorm != 0 && x != 0 ? _kSandwichNorm : _kRmsNorm, (nt, 1, 1), KernelShapes.RowThreads, 0, args.Float(c.RmsNormEps).Float(c.NormWeightOffset).Int(c.HiddenSize));
    }

    /// <param name="window">the sliding window of a local layer, 0 for a global one.</param>
    private void EnqueueAttention(AttentionMode mode, int ns, int maxCtx, int maxQ, ulong q, ulong kc, ulong vc, int window)
    {
        var c = Config;
        float scale = c.EffectiveAttentionScale, softcap = c.AttentionLogitSoftcap ?? 0f;
        int at = KernelShapes.AttentionThreads;
        switch (mode)
        {
            case AttentionMode.Prefill:
                _api.Launch(_kPrefill, (c.NumHeads, ns, KernelShapes.PrefillTiles(maxQ)), at, KernelShapes.PrefillSharedBytes(c.HeadDim),
                    new KernelArgs().Ptr(_attn).Ptr(q).Int(_qkvDim).Ptr(kc).Ptr(vc).Ptr(In(_offTables)).Int(_maxBlocksPerSeq).Ptr(In(_offCtx)).Ptr(In(_offQs))
                        .Int(c.NumKvHeads).Int(c.HeadDim).Int(BlockSize).Float(scale).Float(softcap).Int(window));
                break;
            case AttentionMode.DecodeSinglePass:
                _api.Launch(_kDecode, (c.NumHeads, ns, 1), at, KernelShapes.DecodeSharedBytes(c.HeadDim, maxCtx), DecodeArgs(q, kc, vc, scale, maxCtx, softcap, window));
                break;
            default:
                int part = _partition;
                if (_maxParts == 1)
                {
                    // One partition covers MaxModelLen: the kernel then writes the output itself (no reduce).
                    _api.Launch(_kDecode, (c.NumHeads, ns, 1), at, KernelShapes.DecodeSharedBytes(c.HeadDim, part), DecodeArgs(q, kc, vc, scale, part, softcap, window));
                    break;
                }

                _api.Launch(_kDecode, (c.NumHeads, ns, _maxParts), at, KernelShapes.DecodeSharedBytes(c.HeadDim, part), DecodeArgs(q, kc, vc, scale, part, softcap, window));
                _api.Launch(_kReduce, (c.NumHeads, ns, 1), at, KernelShapes.ReduceSharedBytes(_maxParts),
                    new KernelArgs().Ptr(_attn).Ptr(_splitOut).Ptr(_splitMax).Ptr(_splitSum).Ptr(In(_offCtx)).Int(c.HeadDim).Int(part).Int(_maxParts));
                break;
        }
    }

    private KernelArgs DecodeArgs(ulong q, ulong kc, ulong vc, float scale, int partition, float softcap, int window) =>
        new KernelArgs().Ptr(_attn).Ptr(_splitOut).Ptr(_splitMax).Ptr(_splitSum).Ptr(q).Int(_qkvDim).Ptr(kc).Ptr(vc).Ptr(In(_offTables)).Int(_maxBlocksPerSeq)
            .Ptr(In(_offCtx)).Int(Config.NumKvHeads).Int(Config.HeadDim).Int(BlockSize).Float(scale).Int(partition).Float(softcap).Int(window);

    /// <summary>
    /// Runs the largest step the runner accepts against a scratch KV pool, then gives the KV pool
    /// what is left of GpuMemoryUtilization x total memory (vLLM's profile run).
    /// </summary>
    private int ProfileAndSizePool(double utilization)
    {
        var c = Config;
        int seqLen = Math.Min(_maxModelLen, _maxTokens);
        int seqs = Math.Min(_maxSeqs, Math.Max(1, _maxTokens / seqLen));
        int blocksPerSeq = (seqLen + BlockSize - 1) / BlockSize;
        AllocatePool(seqs * blocksPerSeq);
        var batch = new ForwardBatch(_maxTokens, seqs, _maxBlocksPerSeq);
        var tokens = new int[seqLen];
        var table = new int[blocksPerSeq];
        for (int s = 0; s < seqs; s++)
        {
            for (int j = 0; j < blocksPerSeq; j++)
            {
                table[j] = (s * blocksPerSeq) + j;
            }

            batch.AddSequence(tokens, 0, table, BlockSize, wantLogits: true);
        }

        var logits = new float[(long)batch.NumLogitRows * c.VocabSize];
        EnqueueProfile(batch, logits);
        FreePool();
        var (free, total) = _api.MemoryInfo();
        long used = total - free;
        long budget = (long)(total * utilization) - used;
        long perBlock = 2L * c.NumLayers * BlockSize * c.KvDim * CacheElementBytes;
        long blocks = budget / perBlock;
        if (blocks < _maxBlocksPerSeq)
        {
            throw new InvalidOperationException(
                $"after weights and activations ({used >> 20} MiB used of {total >> 20} MiB) the KV pool gets {Math.Max(blocks, 0)} blocks, fewer than one {_maxModelLen}-token sequence needs ({_maxBlocksPerSeq}): raise Folio:Engine:GpuMemoryUtilization or lower MaxModelLen / MaxNumBatchedTokens");
        }

        return (int)Math.Min(blocks, int.MaxValue / BlockSize);
    }

    private void EnqueueProfile(ForwardBatch batch, float[] logits)
    {
        // Forward checks slots against NumBlocks, which is not known yet: run the step directly.
        StageInputs(batch, padTo: 0);
        UploadInputs(batch.NumSeqs, batch.NumLogitRows);
        EnqueueForward(batch.NumTokens, batch.NumSeqs, batch.NumLogitRows, AttentionMode.Prefill, batch.ContextLens[0], batch.QueryLength(0));
        fixed (float* dst = logits)
        {
            _api.Download(dst, _logits, logits.Length * 4L);
            _api.Synchronize();
        }
    }

    private void AllocatePool(int blocks)
    {
        _layerCacheBytes = (long)blocks * BlockSize * Config.KvDim * CacheElementBytes;
        _kPool = _api.Allocate(_layerCacheBytes * Config.NumLayers);
        _vPool = _api.Allocate(_layerCacheBytes * Config.NumLayers);
        _api.Clear(_kPool, _layerCacheBytes * Config.NumLayers);
        _api.Clear(_vPool, _layerCacheBytes * Config.NumLayers);
    }

    private void FreePool()
    {
        if (_kPool != 0)
        {
            _api.Free(_kPool);
        }

        if (_vPool != 0)
        {
            _api.Free(_vPool);
        }

        _kPool = _vPool = 0;
    }

    /// <summary>Captures a decode step of <paramref name="batch"/> sequences (split-K over MaxModelLen, so any context fits).</summary>
    private void CaptureDecodeGraph(int batch)
    {
        // Warm up outside the capture (cuBLAS picks its kernels) on padded dummy rows.
        var dummy = new ForwardBatch(batch, batch, _maxBlocksPerSeq);
        StageInputs(dummy, padTo: batch);
        UploadInputs(batch, batch);
        EnqueueForward(batch, batch, batch, AttentionMode.DecodeSplitK, _maxModelLen, 1);
        _api.Synchronize();
        _api.BeginCapture();
        try
        {
            EnqueueForward(batch, batch, batch, AttentionMode.DecodeSplitK, _maxModelLen, 1);
        }
        finally
        {
            _graphs[batch] = _api.EndCapture($"decode batch {batch}");
            _graphSizes = [.. _graphs.Keys.Order()];
        }
    }

    private ulong UploadDoubles(double[] values)
    {
        ulong d = Own(values.Length * sizeof(double));
        fixed (double* p = values)
        {
            _api.Upload(d, p, values.Length * sizeof(double));
            _api.Synchronize();
        }

        return d;
    }

    private ulong Own(long bytes)
    {
        ulong p = _api.Allocate(bytes);
        _owned.Add(p);
        return p;
    }

    private static IDeviceApi CreateDevice(CudaRunnerOptions options)
    {
        options.Validate();
        return new CudaDeviceApi(options.DeviceOrdinal, options.KernelCacheDirectory);
    }

    public void Dispose()
    {
        // The device API owns every allocation, graph and pinned buffer, and frees them with its context.
        _api.Dispose();
    }
}
