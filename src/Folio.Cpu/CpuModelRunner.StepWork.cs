using Folio.Cpu.Quantized;
using Folio.Engine.Execution;
using Folio.Models;

namespace Folio.Cpu;

public sealed unsafe partial class CpuModelRunner
{
    private enum Op
    {
        EmbedAndAngles,
        InputNorm,
        RopeAndCache,
        Attention,
        PostAttentionNorm,
        AddNormed,
        Activation,
        Route,
        GatherExpertRows,
        CombineExperts,
        FinalNorm,
        SoftcapLogits,
        QuantizeRows,
        Gemm,
    }

    /// <summary>
    /// The one preallocated work item of a forward step: the runner sets its fields, then the team
    /// runs it. Each op's units (tokens, (token, head) pairs, or GEMM panels) are handed out in
    /// contiguous ranges; a unit is always computed whole by one thread.
    /// </summary>
    private sealed class StepWork(CpuModelRunner runner) : IParallelWork
    {
        public Op Op;
        public ForwardBatch Batch = null!;
        public int NumTokens;
        public CpuLayerWeights Layer = null!;
        public NativeBuffer PostNorm = null!;
        public float* Logits;
        public float* GluIn;
        public float* GluOut;
        public int GluWidth;

        /// <summary>Attention units per token and KV head: its query heads in this many equal parts (see <see cref="AttentionSplit"/>).</summary>
        public int AttentionParts = 1;

        public float* GemmX;
        public int GemmLdx;
        public int GemmM;
        public LinearWeight GemmW = null!;
        public float* GemmY;
        public int GemmLdy;
        public bool GemmAccumulate;
        public MappedMatrix.Source GemmSource;

        public void Execute(int start, int end, int threadIndex)
        {
            var r = runner;
            var c = r.Config;
            switch (Op)
            {
                case Op.Gemm:
                    if (GemmW.Mapped is { } mapped)
                    {
                        if (mapped.QuantLayout is null)
                        {
                            mapped.RunF32(GemmX, GemmLdx, GemmM, GemmY, GemmLdy, GemmAccumulate, start, end, GemmSource, r._mappedScratch[threadIndex]);
                        }
                        else
                        {
                            mapped.RunQuantized(r._quantized, GemmM, GemmY, GemmLdy, GemmAccumulate, start, end, GemmSource, r._mappedScratch[threadIndex]);
                        }
                    }
                    else if (GemmW.Quant is { } q)
                    {
                        QuantGemm.Run(r._quantized, GemmM, q, GemmY, GemmLdy, GemmAccumulate, start, end);
                    }
                    else
                    {
                        GemmKernels.Run(GemmX, GemmLdx, GemmM, GemmW.F32!, GemmY, GemmLdy, GemmAccumulate, start, end);
                    }

                    break;
                case Op.QuantizeRows:
                    var qw = GemmW;
                    for (int row = start; row < end; row++)
                    {
                        r._quantized.QuantizeRow(GemmX + ((long)row * GemmLdx), row, qw.K, qw.NeedsBlocks32, qw.NeedsBlocks256);
                    }

                    break;
                case Op.EmbedAndAngles:
                    for (int t = start; t < end; t++)
                    {
                        EmbedAndAngles(t);
                    }

                    break;
                case Op.InputNorm:
                case Op.PostAttentionNorm:
                    float* w = (Op == Op.InputNorm ? Layer.InputNorm : Layer.PostAttentionNorm).Pointer;
                    for (int t = start; t < end; t++)
                    {
                        long o = (long)t * c.HiddenSize;
                        VectorMath.RmsNorm(r._hidden.Pointer + o, w, r._normed.Pointer + o, c.HiddenSize, c.RmsNormEps);
                    }

                    break;
                case Op.RopeAndCache:
                    for (int t = start; t < end; t++)
                    {
                        RopeAndCache(t);
                    }

                    break;
                case Op.Attention:
                    float* scores = r._scores[threadIndex].Pointer;
                    int perToken = c.NumKvHeads * AttentionParts;
                    for (int u = start; u < end; u++)
                    {
                        int part = u % perToken;
                        Attention(u / perToken, part / AttentionParts, part % AttentionParts, scores);
                    }

                    break;
                case Op.AddNormed:
                    for (int t = start; t < end; t++)
                    {
                        long o = (long)t * c.HiddenSize;
                        float* b = r._branch.Pointer + o;
                        VectorMath.RmsNorm(b, PostNorm.Pointer, b, c.HiddenSize, c.RmsNormEps);
                        VectorMath.AddScaled(r._hidden.Pointer + o, b, 1f, c.HiddenSize);
                    }

                    break;
                case Op.Activation:
                    for (int t = start; t < end; t++)
                    {
                        int width = GluWidth;
                        float* g = GluIn + ((long)t * 2 * width);
                        float* y = GluOut + ((long)t * width);
                        if (c.Activation == MlpActivation.GeluTanh && r._ggmlF16Gelu)
                        {
                            VectorMath.GeluTanhAndMulGgmlF16(g, g + width, y, width);
                        }
                        else if (c.Activation == MlpActivation.GeluTanh)
                        {
                            VectorMath.GeluTanhAndMul(g, g + width, y, width);
                        }
                        else
                        {
                            VectorMath.SiluAndMul(g, g + width, y, width);
                        }
                    }

                    break;
                case Op.Route:
                    for (int t = start; t < end; t++)
                    {
                        Route(t);
                    }

                    break;
                case Op.GatherExpertRows:
                    for (int row = start; row < end; row++)
                    {
                        int token = r._slotOfRow[row] / c.NumExpertsPerToken;
                        long bytes = (long)c.HiddenSize * sizeof(float);
                        Buffer.MemoryCopy(r._normed.Pointer + ((long)token * c.HiddenSize), r._expertIn.Pointer + ((long)row * c.HiddenSize), bytes, bytes);
                    }

                    break;
                case Op.CombineExperts:
                    for (int t = start; t < end; t++)
                    {
                        CombineExperts(t);
                    }

                    break;
                case Op.SoftcapLogits:
                    for (int row = start; row < end; row++)
                    {
                        VectorMath.SoftCap(Logits + ((long)row * c.VocabSize), c.VocabSize, c.FinalLogitSoftcap!.Value);
                    }

                    break;
                case Op.FinalNorm:
                    for (int row = start; row < end; row++)
                    {
                        int t = Batch.LogitTokenIndex[row];
                        VectorMath.RmsNorm(r._hidden.Pointer + ((long)t * c.HiddenSize), r._finalNorm.Pointer, r._logitRows.Pointer + ((long)row * c.HiddenSize), c.HiddenSize, c.RmsNormEps);
                    }

                    break;
                default:
                    throw new InvalidOperationException($"unknown op {Op}");
            }
        }

        /// <summary>
        /// Softmax over the router logits (max-shifted, summed in expert order), the top-k by
        /// probability (ties to the lower expert id), renormalised over the k when the model says so.
        /// </summary>
        private void Route(int t)
        {
            var r = runner;
            var c = r.Config;
            int experts = c.NumExperts, k = c.NumExpertsPerToken;
            float* logits = r._router.Pointer + ((long)t * r._routerWidth);
            float max = float.NegativeInfinity;
            for (int e = 0; e < experts; e++)
            {
                max = MathF.Max(max, logits[e]);
            }

            VectorMath.ExpShifted(logits, experts, max);
            float sum = 0;
            for (int e = 0; e < experts; e++)
            {
                sum += logits[e];
            }

            int first = t * k;
            float picked = 0;
            for (int j = 0; j < k; j++)
            {
                int best = -1;
                for (int e = 0; e < experts; e++)
                {
                    if ((best < 0 || logits[e] > logits[best]) && !Chosen(first, j, e))
                    {
                        best = e;
                    }
                }

                r._routeExpert[first + j] = best;
                r._routeWeight[first + j] = logits[best] / sum;
                picked += r._routeWeight[first + j];
            }

            if (c.NormTopKProb)
            {
                for (int j = 0; j < k; j++)
                {
                    r._routeWeight[first + j] /= picked;
                }
            }
        }

        private bool Chosen(int first, int count, int expert)
        {
            for (int j = 0; j < count; j++)
            {
                if (runner._routeExpert[first + j] == expert)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>
        /// hidden[t] += Σ_j w_j · out(t, j) (+ sigmoid(g) · shared(t) with a shared expert), the sum built in
        /// rank order in the token's own scratch row, then added once.
        /// </summary>
        private void CombineExperts(int t)
        {
            var r = runner;
            var c = r.Config;
            int k = c.NumExpertsPerToken, h = c.HiddenSize;
            float* sum = r._normed.Pointer + ((long)t * h);
            for (int j = 0; j < k; j++)
            {
                float* o = r._expertOut.Pointer + ((long)r._rowOfSlot[(t * k) + j] * h);
                if (j == 0)
                {
                    VectorMath.Scale(sum, o, r._routeWeight[t * k], h);
                }
                else
                {
                    VectorMath.AddScaled(sum, o, r._routeWeight[(t * k) + j], h);
                }
            }

            if (Layer.SharedGateUp is not null)
            {
                // Qwen2-MoE: + sigmoid(shared_expert_gate · x) · shared_expert(x).
                float gate = r._router.Pointer[((long)t * r._routerWidth) + c.NumExperts];
                VectorMath.AddScaled(sum, r._sharedOut.Pointer + ((long)t * h), 1f / (1f + MathF.Exp(-gate)), h);
            }

            VectorMath.AddScaled(r._hidden.Pointer + ((long)t * h), sum, 1f, h);
        }

        private void EmbedAndAngles(int t)
        {
            var r = runner;
            var c = r.Config;
            int token = Batch.TokenIds[t];
            float* h = r._hidden.Pointer + ((long)t * c.HiddenSize);
            DTypeConversion.ToF32(r._embedding, (long)token * c.HiddenSize, new Span<float>(h, c.HiddenSize));
            if (c.EmbeddingScale != 1f)
            {
                VectorMath.Scale(h, h, c.EmbeddingScale, c.HiddenSize);
            }

            int half = c.RotaryDim / 2;
            RotaryEmbedding.Angles(Batch.Positions[t], r._invFreq, new Span<float>(r._cos.Pointer + ((long)t * half), half), new Span<float>(r._sin.Pointer + ((long)t * half), half), r._ropeAttentionFactor);
            if (r._invFreqLocal is { } local)
            {
                RotaryEmbedding.Angles(Batch.Positions[t], local, new Span<float>(r._cosLocal.Pointer + ((long)t * half), half), new Span<float>(r._sinLocal.Pointer + ((long)t * half), half));
            }
        }

        private void RopeAndCache(int t)
        {
            var r = runner;
            var c = r.Config;
            int width = c.QDim + (2 * c.KvDim);
            float* row = r._qkv.Pointer + ((long)t * width);
            int half = c.RotaryDim / 2;
            float* cos = (Layer.LocalRope ? r._cosLocal : r._cos).Pointer + ((long)t * half);
            float* sin = (Layer.LocalRope ? r._sinLocal : r._sin).Pointer + ((long)t * half);
            for (int h = 0; h < c.NumHeads; h++)
            {
                float* qh = row + (h * c.HeadDim);
                if (Layer.QNorm is { } qn)
                {
                    VectorMath.RmsNorm(qh, qn.Pointer, qh, c.HeadDim, c.RmsNormEps);
                }

                RotaryEmbedding.ApplyHead(qh, cos, sin, c.RotaryDim, c.RopeStyle);
            }

            float* k = row + c.QDim;
            for (int h = 0; h < c.NumKvHeads; h++)
            {
                float* kh = k + (h * c.HeadDim);
                if (Layer.KNorm is { } kn)
                {
                    VectorMath.RmsNorm(kh, kn.Pointer, kh, c.HeadDim, c.RmsNormEps);
                }

                RotaryEmbedding.ApplyHead(kh, cos, sin, c.RotaryDim, c.RopeStyle);
            }

            long slot = Batch.SlotMapping[t];
            var kvBytes = c.KvDim * sizeof(float);
            Buffer.MemoryCopy(k, Layer.KCache.Pointer + (slot * c.KvDim), kvBytes, kvBytes);
            Buffer.MemoryCopy(k + c.KvDim, Layer.VCache.Pointer + (slot * c.KvDim), kvBytes, kvBytes);
        }

        /// <summary>
        /// Part <paramref name="part"/> of token <paramref name="t"/>'s query heads that share KV head
        /// <paramref name="kvHead"/>, in one walk over its keys.
        /// </summary>
        private void Attention(int t, int kvHead, int part, float* scores)
        {
            var r = runner;
            var c = r.Config;
            int s = r._tokenSeq[t];
            int width = c.QDim + (2 * c.KvDim);
            int heads = c.QueryGroupSize / AttentionParts;
            int firstHead = (kvHead * c.QueryGroupSize) + (part * heads);
            float* q = r._qkv.Pointer + ((long)t * width) + (firstHead * c.HeadDim);
            int position = Batch.Positions[t];
            int firstKey = Layer.Local ? Math.Max(0, position + 1 - c.SlidingWindow!.Value) : 0;
            fixed (int* table = Batch.BlockTable(s))
            {
                AttentionKernel.AttendGroup(
                    q,
                    heads,
                    Layer.KCache.Pointer,
                    Layer.VCache.Pointer,
                    table,
                    r.BlockSize,
                    kvHead * c.HeadDim,
                    c.KvDim,
                    c.HeadDim,
                    firstKey,
                    position + 1,
                    c.EffectiveAttentionScale,
                    c.AttentionLogitSoftcap ?? 0f,
                    scores,
                    r._attn.Pointer + ((long)t * c.QDim) + (firstHead * c.HeadDim));
            }
        }
    }
}
