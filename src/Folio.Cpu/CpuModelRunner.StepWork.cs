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

        public float* GemmX;
        public int GemmLdx;
        public int GemmM;
        public LinearWeight GemmW = null!;
        public float* GemmY;
        public int GemmLdy;
        public bool GemmAccumulate;

        public void Execute(int start, int end, int threadIndex)
        {
            var r = runner;
            var c = r.Config;
            switch (Op)
            {
                case Op.Gemm:
                    if (GemmW.Quant is { } q)
                    {
                        QuantGemm.Run(r._quantized, GemmM, q, GemmY, GemmLdy, GemmAccumulate, start, end);
                    }
                    else
                    {
                        GemmKernels.Run(GemmX, GemmLdx, GemmM, GemmW.F32!, GemmY, GemmLdy, GemmAccumulate, start, end);
                    }

                    break;
                case Op.QuantizeRows:
                    var qm = GemmW.Quant!;
                    for (int row = start; row < end; row++)
                    {
                        r._quantized.QuantizeRow(GemmX + ((long)row * GemmLdx), row, qm.K, qm.NeedsBlocks32, qm.NeedsBlocks256);
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
                    for (int u = start; u < end; u++)
                    {
                        Attention(u / c.NumHeads, u % c.NumHeads, scores);
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
                        float* g = r._gateUp.Pointer + ((long)t * 2 * c.IntermediateSize);
                        float* y = r._act.Pointer + ((long)t * c.IntermediateSize);
                        if (c.Activation == MlpActivation.GeluTanh && r._ggmlF16Gelu)
                        {
                            VectorMath.GeluTanhAndMulGgmlF16(g, g + c.IntermediateSize, y, c.IntermediateSize);
                        }
                        else if (c.Activation == MlpActivation.GeluTanh)
                        {
                            VectorMath.GeluTanhAndMul(g, g + c.IntermediateSize, y, c.IntermediateSize);
                        }
                        else
                        {
                            VectorMath.SiluAndMul(g, g + c.IntermediateSize, y, c.IntermediateSize);
                        }
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

            int half = c.HeadDim / 2;
            RotaryEmbedding.Angles(Batch.Positions[t], r._invFreq, new Span<float>(r._cos.Pointer + ((long)t * half), half), new Span<float>(r._sin.Pointer + ((long)t * half), half));
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
            int half = c.HeadDim / 2;
            float* cos = (Layer.LocalRope ? r._cosLocal : r._cos).Pointer + ((long)t * half);
            float* sin = (Layer.LocalRope ? r._sinLocal : r._sin).Pointer + ((long)t * half);
            for (int h = 0; h < c.NumHeads; h++)
            {
                float* qh = row + (h * c.HeadDim);
                if (Layer.QNorm is { } qn)
                {
                    VectorMath.RmsNorm(qh, qn.Pointer, qh, c.HeadDim, c.RmsNormEps);
                }

                RotaryEmbedding.ApplyHead(qh, cos, sin, c.HeadDim, c.RopeStyle);
            }

            float* k = row + c.QDim;
            for (int h = 0; h < c.NumKvHeads; h++)
            {
                float* kh = k + (h * c.HeadDim);
                if (Layer.KNorm is { } kn)
                {
                    VectorMath.RmsNorm(kh, kn.Pointer, kh, c.HeadDim, c.RmsNormEps);
                }

                RotaryEmbedding.ApplyHead(kh, cos, sin, c.HeadDim, c.RopeStyle);
            }

            long slot = Batch.SlotMapping[t];
            var kvBytes = c.KvDim * sizeof(float);
            Buffer.MemoryCopy(k, Layer.KCache.Pointer + (slot * c.KvDim), kvBytes, kvBytes);
            Buffer.MemoryCopy(k + c.KvDim, Layer.VCache.Pointer + (slot * c.KvDim), kvBytes, kvBytes);
        }

        private void Attention(int t, int head, float* scores)
        {
            var r = runner;
            var c = r.Config;
            int s = r._tokenSeq[t];
            int width = c.QDim + (2 * c.KvDim);
            float* q = r._qkv.Pointer + ((long)t * width) + (head * c.HeadDim);
            int kvHead = head / c.QueryGroupSize;
            int position = Batch.Positions[t];
            int firstKey = Layer.Local ? Math.Max(0, position + 1 - c.SlidingWindow!.Value) : 0;
            fixed (int* table = Batch.BlockTable(s))
            {
                AttentionKernel.AttendOne(
                    q,
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
                    r._attn.Pointer + ((long)t * c.QDim) + (head * c.HeadDim));
            }
        }
    }
}
