using System.Runtime.InteropServices;
using Folio.Cuda.Interop;
using Folio.Cuda.Kernels;
using Folio.Engine.Cpu;
using Folio.Engine.Execution;
using Folio.Engine.Model;

namespace Folio.Cuda.Runner;

/// <summary>
/// The CUDA backend's model executor: bf16 weights on the device, cuBLAS GEMMs (bf16 in, f32
/// accumulate), the kernels of native-kernels/*.cu, a bf16 paged KV cache in the CPU backend's
/// layout, sized from free device memory after a profiling pass, and CUDA graphs for decode steps
/// of common batch sizes. The residual stream, q/k/v and every softmax stay f32.
/// </summary>
public sealed unsafe class CudaModelRunner : IModelRunner
{
    private const int CacheElementBytes = 2; // bf16

    private readonly CudaContext _ctx;
    private readonly CudaStream _stream;
    private readonly CudaKernelSet _k;
    private readonly CublasGemm _gemm;
    private readonly DeviceBuffer _embedding;
    private readonly DeviceBuffer _finalNorm;
    private readonly DeviceBuffer _lmHead; // may alias _embedding when tied
    private readonly DeviceLayer[] _layers;
    private readonly DeviceBuffer _invFreq;
    private readonly List<DeviceBuffer> _owned = [];
    private readonly Dictionary<int, (SafeCudaGraphHandle Graph, SafeCudaGraphExecHandle Exec)> _graphs = [];
    private readonly int _maxTokens, _maxSeqs, _maxBlocksPerSeq, _maxModelLen, _maxParts;
    private readonly int _qkvDim;

    // activations
    private readonly DeviceBuffer _residual, _normed, _qkv, _attn, _proj, _gateUp, _act, _rows, _rowsNormed, _logits;
    private readonly DeviceBuffer _splitOut, _splitMax, _splitSum;

    // step inputs: one pinned staging area and its device twin, same layout
    private readonly SafePinnedHostHandle _staging;
    private readonly DeviceBuffer _inputs;
    private readonly int _offIds, _offPos, _offSlots, _offQs, _offCtx, _offTables, _offLogitIdx, _inputInts;

    private DeviceBuffer _kCache = null!, _vCache = null!;
    private int[] _graphSizes = [];
    private long _layerCacheBytes;

    public CudaModelRunner(LoadedModel model, CudaRunnerOptions options)
    {
        options.Validate();
        Config = model.Config;
        var c = Config;
        BlockSize = options.BlockSize;
        // Buffers scale with MaxModelLen (block tables, split-K partitions): default to 8192 tokens
        // rather than a 128K max_position_embeddings nobody schedules on one step.
        _maxModelLen = options.MaxModelLen > 0 ? options.MaxModelLen : Math.Min(c.MaxPositionEmbeddings, 8192);
        _maxTokens = options.MaxNumBatchedTokens;
        _maxSeqs = options.MaxNumSeqs;
        _maxBlocksPerSeq = (_maxModelLen + BlockSize - 1) / BlockSize;
        _maxParts = KernelShapes.Partitions(_maxModelLen, KernelShapes.DefaultPartitionSize);
        _qkvDim = c.QDim + (2 * c.KvDim);

        _ctx = CudaContext.Create(options.DeviceOrdinal);
        try
        {
            _stream = _ctx.CreateStream();
            _k = new CudaKernelSet(_ctx, options.KernelCacheDirectory);
            _gemm = new CublasGemm(_ctx, _stream);

            _embedding = DeviceWeights.Upload(_ctx, model.Require("model.embed_tokens.weight"));
            _finalNorm = DeviceWeights.Upload(_ctx, model.Require("model.norm.weight"));
            _lmHead = c.TieWordEmbeddings ? _embedding : DeviceWeights.Upload(_ctx, model.Require("lm_head.weight"));
            _layers = new DeviceLayer[c.NumLayers];
            for (int i = 0; i < c.NumLayers; i++)
            {
                _layers[i] = DeviceWeights.UploadLayer(_ctx, model, i);
            }

            var inv = RotaryEmbedding.InverseFrequencies(c.HeadDim, c.RopeTheta, c.RopeScaling);
            _invFreq = Own(_ctx.Allocate(inv.Length * sizeof(double)));
            _invFreq.Upload<double>(inv);

            long t = _maxTokens;
            _residual = Own(_ctx.Allocate(t * c.HiddenSize * 4));
            _normed = Own(_ctx.Allocate(t * c.HiddenSize * 2));
            _qkv = Own(_ctx.Allocate(t * _qkvDim * 4));
            _attn = Own(_ctx.Allocate(t * c.QDim * 2));
            _proj = Own(_ctx.Allocate(t * c.HiddenSize * 4));
            _gateUp = Own(_ctx.Allocate(t * 2 * c.IntermediateSize * 4));
            _act = Own(_ctx.Allocate(t * c.IntermediateSize * 2));
            _rows = Own(_ctx.Allocate((long)_maxSeqs * c.HiddenSize * 4));
            _rowsNormed = Own(_ctx.Allocate((long)_maxSeqs * c.HiddenSize * 2));
            _logits = Own(_ctx.Allocate((long)_maxSeqs * c.VocabSize * 4));
            _splitOut = Own(_ctx.Allocate((long)_maxSeqs * c.NumHeads * _maxParts * c.HeadDim * 4));
            _splitMax = Own(_ctx.Allocate((long)_maxSeqs * c.NumHeads * _maxParts * 4));
            _splitSum = Own(_ctx.Allocate((long)_maxSeqs * c.NumHeads * _maxParts * 4));

            _offIds = 0;
            _offPos = _offIds + _maxTokens;
            _offSlots = _offPos + _maxTokens;
            _offQs = _offSlots + _maxTokens;
            _offCtx = _offQs + _maxSeqs + 1;
            _offTables = _offCtx + _maxSeqs;
            _offLogitIdx = _offTables + (_maxSeqs * _maxBlocksPerSeq);
            _inputInts = _offLogitIdx + _maxTokens;
            _ctx.MakeCurrent();
            CudaDriver.Check(CudaDriver.cuMemAllocHost(out nint pinned, (nuint)(_inputInts * 4L)), "cuMemAllocHost");
            _staging = new SafePinnedHostHandle(_ctx.Handle, pinned);
            _inputs = Own(_ctx.Allocate(_inputInts * 4L));

            NumBlocks = options.NumBlocksOverride > 0 ? options.NumBlocksOverride : ProfileAndSizePool(options.GpuMemoryUtilization);
            AllocatePool(NumBlocks);
            foreach (int b in options.GraphBatchSizes.Where(b => b <= _maxSeqs).Distinct().Order())
            {
                CaptureDecodeGraph(b);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public ModelConfig Config { get; }
    public int BlockSize { get; }
    public int NumBlocks { get; private set; }
    public string DeviceName => _ctx.Name;
    public int CompiledArch => _k.Arch;
    public IReadOnlyCollection<int> GraphBatchSizes => _graphs.Keys;

    private int* Staging => (int*)_staging.DangerousGetHandle();

    public void Forward(ForwardBatch batch, Span<float> logits)
    {
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

        bool decode = nt == ns;
        int maxCtx = 0;
        for (int s = 0; s < ns; s++)
        {
            maxCtx = Math.Max(maxCtx, batch.ContextLens[s]);
            if (batch.ContextLens[s] > _maxModelLen)
            {
                throw new ArgumentException($"sequence {s}: context of {batch.ContextLens[s]} tokens exceeds MaxModelLen {_maxModelLen}");
            }
        }

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
        _ctx.MakeCurrent();
        UploadInputs(Math.Max(ns, graphSize), Math.Max(nl, graphSize));
        if (graphSize > 0)
        {
            int status = CudaDriver.cuGraphLaunch(_graphs[graphSize].Exec.DangerousGetHandle(), _stream.Raw);
            if (status != 0)
            {
                CudaDriver.Check(status, $"cuGraphLaunch(decode batch {graphSize})");
            }
        }
        else
        {
            var mode = !decode ? AttentionMode.Prefill : maxCtx <= KernelShapes.SinglePassMaxContext ? AttentionMode.DecodeSinglePass : AttentionMode.DecodeSplitK;
            EnqueueForward(nt, ns, nl, mode, maxCtx, MaxQueryLength(batch));
        }

        fixed (float* dst = logits)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync(dst, _logits.Pointer, (nuint)((long)nl * c.VocabSize * 4), _stream.Raw), "cuMemcpyDtoHAsync(logits)");
            _stream.Synchronize();
        }

    }

    public void CopyBlocks(ReadOnlySpan<int> sources, ReadOnlySpan<int> destinations)
    {
        long blockBytes = (long)BlockSize * Config.KvDim * CacheElementBytes;
        _ctx.MakeCurrent();
        for (int l = 0; l < Config.NumLayers; l++)
        {
            for (int i = 0; i < sources.Length; i++)
            {
                if ((uint)sources[i] >= (uint)NumBlocks || (uint)destinations[i] >= (uint)NumBlocks)
                {
                    throw new ArgumentOutOfRangeException(nameof(sources), $"block copy {sources[i]} -> {destinations[i]} is outside the pool of {NumBlocks} blocks");
                }

                ulong off = (ulong)(l * _layerCacheBytes);
                ulong src = off + (ulong)(sources[i] * blockBytes), dst = off + (ulong)(destinations[i] * blockBytes);
                CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync(_kCache.Pointer + dst, _kCache.Pointer + src, (nuint)blockBytes, _stream.Raw), "cuMemcpyDtoDAsync(K block)");
                CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync(_vCache.Pointer + dst, _vCache.Pointer + src, (nuint)blockBytes, _stream.Raw), "cuMemcpyDtoDAsync(V block)");
            }
        }

        _stream.Synchronize();
    }

    private enum AttentionMode
    {
        Prefill,
        DecodeSinglePass,
        DecodeSplitK,
    }

    private static int MaxQueryLength(ForwardBatch b)
    {
        int m = 0;
        for (int s = 0; s < b.NumSeqs; s++)
        {
            m = Math.Max(m, b.QueryLength(s));
        }

        return m;
    }

    /// <summary>Copies the batch into the pinned staging area; decode batches are padded with harmless rows (slot -1, context 1, block 0).</summary>
    private void StageInputs(ForwardBatch b, int padTo)
    {
        int* s = Staging;
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

        int nl = padTo > 0 ? padTo : b.NumLogitRows;
        for (int r = 0; r < nl; r++)
        {
            s[_offLogitIdx + r] = r < b.NumLogitRows ? b.LogitTokenIndex[r] : r;
        }
    }

    /// <summary>Copies the used part of the staged inputs: everything up to the last used block-table row, and the logit rows.</summary>
    private void UploadInputs(int rows, int logitRows)
    {
        long head = (_offTables + ((long)rows * _maxBlocksPerSeq)) * 4;
        CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(_inputs.Pointer, Staging, (nuint)head, _stream.Raw), "cuMemcpyHtoDAsync(step inputs)");
        CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(In(_offLogitIdx), Staging + _offLogitIdx, (nuint)(Math.Max(logitRows, 1) * 4L), _stream.Raw), "cuMemcpyHtoDAsync(logit rows)");
    }

    private ulong In(int offsetInts) => _inputs.Pointer + ((ulong)offsetInts * 4);

    /// <summary>Queues one forward pass on the stream (also what a CUDA graph captures).</summary>
    private void EnqueueForward(int nt, int ns, int nl, AttentionMode mode, int maxCtx, int maxQ)
    {
        var c = Config;
        int h = c.HiddenSize, inter = c.IntermediateSize;
        int rt = KernelShapes.RowThreads, st = KernelShapes.SmallThreads;
        float eps = c.RmsNormEps, scale = 1f / MathF.Sqrt(c.HeadDim);
        int interleaved = c.RopeStyle == RopeStyle.Interleaved ? 1 : 0;

        _k.Embedding.Launch(_stream, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_residual).Ptr(_embedding).Ptr(In(_offIds)).Int(h).Int(c.VocabSize));
        for (int l = 0; l < c.NumLayers; l++)
        {
            var w = _layers[l];
            // residual += previous MLP output (none before layer 0), normed = rmsnorm(residual)
            _k.RmsNorm.Launch(_stream, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_normed).Ptr(_residual).Ptr(l == 0 ? null : _proj).Ptr(w.InputNorm).Float(eps).Int(h));
            _gemm.Run(_normed.Pointer, w.Qkv.Pointer, _qkv.Pointer, nt, _qkvDim, h);
            if (w.QkvBias is not null)
            {
                _k.AddBias.Launch(_stream, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_qkv).Ptr(w.QkvBias).Int(_qkvDim));
            }

            ulong q = _qkv.Pointer, k = q + ((ulong)c.QDim * 4), v = k + ((ulong)c.KvDim * 4);
            _k.Rotary.Launch(_stream, (nt, 1, 1), st, 0, new KernelArgs().Ptr(q).Ptr(k).Ptr(In(_offPos)).Ptr(_invFreq).Int(_qkvDim).Int(_qkvDim).Int(c.NumHeads).Int(c.NumKvHeads).Int(c.HeadDim).Int(interleaved));
            ulong kc = _kCache.Pointer + (ulong)(l * _layerCacheBytes), vc = _vCache.Pointer + (ulong)(l * _layerCacheBytes);
            _k.ReshapeAndCache.Launch(_stream, (nt, 1, 1), st, 0, new KernelArgs().Ptr(k).Ptr(v).Ptr(kc).Ptr(vc).Ptr(In(_offSlots)).Int(_qkvDim).Int(_qkvDim).Int(c.NumKvHeads).Int(c.HeadDim));
            EnqueueAttention(mode, ns, maxCtx, maxQ, q, kc, vc, scale);
            _gemm.Run(_attn.Pointer, w.O.Pointer, _proj.Pointer, nt, h, c.QDim);
            _k.RmsNorm.Launch(_stream, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_normed).Ptr(_residual).Ptr(_proj).Ptr(w.PostAttentionNorm).Float(eps).Int(h));
            _gemm.Run(_normed.Pointer, w.GateUp.Pointer, _gateUp.Pointer, nt, 2 * inter, h);
            _k.SiluAndMul.Launch(_stream, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_act).Ptr(_gateUp).Int(inter));
            _gemm.Run(_act.Pointer, w.Down.Pointer, _proj.Pointer, nt, h, inter);
        }

        // residual += last MLP output over every token, then only the rows that want logits.
        _k.RmsNorm.Launch(_stream, (nt, 1, 1), rt, 0, new KernelArgs().Ptr(_normed).Ptr(_residual).Ptr(_proj).Ptr(_finalNorm).Float(eps).Int(h));
        _k.GatherRows.Launch(_stream, (nl, 1, 1), rt, 0, new KernelArgs().Ptr(_rows).Ptr(_residual).Ptr(In(_offLogitIdx)).Int(h));
        _k.RmsNorm.Launch(_stream, (nl, 1, 1), rt, 0, new KernelArgs().Ptr(_rowsNormed).Ptr(_rows).Ptr(null).Ptr(_finalNorm).Float(eps).Int(h));
        _gemm.Run(_rowsNormed.Pointer, _lmHead.Pointer, _logits.Pointer, nl, c.VocabSize, h);
    }

    private void EnqueueAttention(AttentionMode mode, int ns, int maxCtx, int maxQ, ulong q, ulong kc, ulong vc, float scale)
    {
        var c = Config;
        int at = KernelShapes.AttentionThreads;
        switch (mode)
        {
            case AttentionMode.Prefill:
                _k.Prefill.Launch(_stream, (c.NumHeads, ns, KernelShapes.PrefillTiles(maxQ)), at, KernelShapes.PrefillSharedBytes(c.HeadDim),
                    new KernelArgs().Ptr(_attn).Ptr(q).Int(_qkvDim).Ptr(kc).Ptr(vc).Ptr(In(_offTables)).Int(_maxBlocksPerSeq).Ptr(In(_offCtx)).Ptr(In(_offQs))
                        .Int(c.NumKvHeads).Int(c.HeadDim).Int(BlockSize).Float(scale));
                break;
            case AttentionMode.DecodeSinglePass:
                _k.Decode.Launch(_stream, (c.NumHeads, ns, 1), at, KernelShapes.DecodeSharedBytes(c.HeadDim, maxCtx),
                    DecodeArgs(q, kc, vc, scale, maxCtx));
                break;
            default:
                int part = KernelShapes.DefaultPartitionSize;
                _k.Decode.Launch(_stream, (c.NumHeads, ns, _maxParts), at, KernelShapes.DecodeSharedBytes(c.HeadDim, part), DecodeArgs(q, kc, vc, scale, part));
                _k.Reduce.Launch(_stream, (c.NumHeads, ns, 1), at, KernelShapes.ReduceSharedBytes(_maxParts),
                    new KernelArgs().Ptr(_attn).Ptr(_splitOut).Ptr(_splitMax).Ptr(_splitSum).Ptr(In(_offCtx)).Int(c.HeadDim).Int(part).Int(_maxParts));
                break;
        }
    }

    private KernelArgs DecodeArgs(ulong q, ulong kc, ulong vc, float scale, int partition) =>
        new KernelArgs().Ptr(_attn).Ptr(_splitOut).Ptr(_splitMax).Ptr(_splitSum).Ptr(q).Int(_qkvDim).Ptr(kc).Ptr(vc).Ptr(In(_offTables)).Int(_maxBlocksPerSeq)
            .Ptr(In(_offCtx)).Int(Config.NumKvHeads).Int(Config.HeadDim).Int(BlockSize).Float(scale).Int(partition);

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
        Forward(batch, logits);
        _ctx.Synchronize();
        _kCache.Dispose();
        _vCache.Dispose();
        var (free, total) = _ctx.MemoryInfo();
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

    private void AllocatePool(int blocks)
    {
        _layerCacheBytes = (long)blocks * BlockSize * Config.KvDim * CacheElementBytes;
        _kCache = _ctx.Allocate(_layerCacheBytes * Config.NumLayers);
        _vCache = _ctx.Allocate(_layerCacheBytes * Config.NumLayers);
        _kCache.Clear();
        _vCache.Clear();
    }

    /// <summary>Captures a decode step of <paramref name="batch"/> sequences (split-K over MaxModelLen, so any context fits).</summary>
    private void CaptureDecodeGraph(int batch)
    {
        _ctx.MakeCurrent();
        // Warm up outside capture (cuBLAS picks its kernels), with padded dummy inputs already staged.
        var dummy = new ForwardBatch(batch, batch, _maxBlocksPerSeq);
        StageInputs(dummy, padTo: batch);
        UploadInputs(batch, batch);
        EnqueueForward(batch, batch, batch, AttentionMode.DecodeSplitK, _maxModelLen, 1);
        _stream.Synchronize();
        CudaDriver.Check(CudaDriver.cuStreamBeginCapture(_stream.Raw, CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        try
        {
            EnqueueForward(batch, batch, batch, AttentionMode.DecodeSplitK, _maxModelLen, 1);
        }
        finally
        {
            CudaDriver.Check(CudaDriver.cuStreamEndCapture(_stream.Raw, out nint g), $"cuStreamEndCapture(decode batch {batch})");
            if (g != 0)
            {
                var graph = new SafeCudaGraphHandle(_ctx.Handle, g);
                CudaDriver.Check(CudaDriver.cuGraphInstantiateWithFlags(out nint exec, g, 0), $"cuGraphInstantiateWithFlags(decode batch {batch})");
                _graphs[batch] = (graph, new SafeCudaGraphExecHandle(_ctx.Handle, exec));
                _graphSizes = [.. _graphs.Keys.Order()];
            }
        }
    }

    private DeviceBuffer Own(DeviceBuffer b)
    {
        _owned.Add(b);
        return b;
    }

    public void Dispose()
    {
        foreach (var (graph, exec) in _graphs.Values)
        {
            exec.Dispose();
            graph.Dispose();
        }

        _graphs.Clear();
        _kCache?.Dispose();
        _vCache?.Dispose();
        foreach (var b in _owned)
        {
            b.Dispose();
        }

        if (_layers is not null)
        {
            foreach (var l in _layers)
            {
                l?.Dispose();
            }
        }

        if (_lmHead is not null && !ReferenceEquals(_lmHead, _embedding))
        {
            _lmHead.Dispose();
        }

        _embedding?.Dispose();
        _finalNorm?.Dispose();
        _staging?.Dispose();
        _gemm?.Dispose();
        _k?.Dispose();
        _stream?.Dispose();
        _ctx?.Dispose();
    }
}
