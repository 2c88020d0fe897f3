using Folio.Models;

namespace Folio.Cpu;

/// <summary>
/// The CPU backend's building blocks with plain span signatures, the reference other backends'
/// kernels are compared with. Each runs exactly the code <see cref="CpuModelRunner"/> runs (single
/// threaded here). All tensors are f32, row-major, outermost dimension first.
/// </summary>
public static unsafe class CpuKernels
{
    /// <summary>
    /// y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) · weight, for r in [0, rows).
    /// x and y are [rows, dim]; weight is [dim].
    /// </summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, int rows, int dim, float eps)
    {
        Require(x.Length >= (long)rows * dim && y.Length >= (long)rows * dim && weight.Length >= dim, "RmsNorm: x and y must hold rows*dim and weight dim values");
        fixed (float* px = x, pw = weight, py = y)
        {
            for (int r = 0; r < rows; r++)
            {
                VectorMath.RmsNorm(px + ((long)r * dim), pw, py + ((long)r * dim), dim, eps);
            }
        }
    }

    /// <summary>
    /// Rotary embedding in place. x is [numTokens, rowStride]; each row holds numHeads heads of
    /// headDim values starting at element 0 of the row (slice x to start at the k part of a fused
    /// qkv row). Token t is rotated by angles positions[t] · invFreq[i] (invFreq from
    /// <see cref="RotaryEmbedding.InverseFrequencies"/>, [headDim/2]). RotateHalf pairs (i, i + headDim/2)
    /// as Hugging Face stores q/k; Interleaved pairs (2i, 2i+1) as GGUF does.
    /// </summary>
    public static void Rope(Span<float> x, ReadOnlySpan<int> positions, int numTokens, int rowStride, int numHeads, int headDim, ReadOnlySpan<double> invFreq, RopeStyle style)
    {
        Require(headDim % 2 == 0 && invFreq.Length == headDim / 2, "Rope: headDim must be even and invFreq hold headDim/2 values");
        Require(numTokens == 0 || x.Length >= ((long)(numTokens - 1) * rowStride) + ((long)numHeads * headDim), "Rope: x is too short for numTokens rows");
        Span<float> cos = stackalloc float[headDim / 2];
        Span<float> sin = stackalloc float[headDim / 2];
        fixed (float* px = x, pc = cos, ps = sin)
        {
            for (int t = 0; t < numTokens; t++)
            {
                RotaryEmbedding.Angles(positions[t], invFreq, cos, sin);
                for (int h = 0; h < numHeads; h++)
                {
                    RotaryEmbedding.ApplyHead(px + ((long)t * rowStride) + ((long)h * headDim), pc, ps, headDim, style);
                }
            }
        }
    }

    /// <summary>y[i] = silu(gate[i]) · up[i] = gate[i] / (1 + exp(-gate[i])) · up[i], element-wise over y.Length.</summary>
    public static void SiluAndMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> y)
    {
        Require(gate.Length >= y.Length && up.Length >= y.Length, "SiluAndMul: gate and up must be at least as long as y");
        fixed (float* pg = gate, pu = up, py = y)
        {
            VectorMath.SiluAndMul(pg, pu, py, y.Length);
        }
    }

    /// <summary>
    /// y[m, n] = Σ_k x[m, k] · w[n, k] (+ bias[n]): x is [m, k], w is [n, k] (a linear layer's
    /// weight, [out, in]), y is [m, n], bias empty or [n]. Each element is one fused multiply-add
    /// chain over k in order from 0, so results do not depend on m.
    /// </summary>
    public static void Matmul(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, int m, int n, int k, ReadOnlySpan<float> bias = default)
    {
        Require(x.Length >= (long)m * k && w.Length >= (long)n * k && y.Length >= (long)m * n, "Matmul: x must be [m, k], w [n, k], y [m, n]");
        using var packed = PackedMatrix.FromRows(w, n, k, bias);
        fixed (float* px = x, py = y)
        {
            GemmKernels.Run(px, k, m, packed, py, n, accumulate: false, 0, packed.Panels);
        }
    }

    /// <summary>
    /// y[t, :] = table[tokens[t], :]: table is [vocab, dim], y is [tokens.Length, dim].
    /// </summary>
    public static void Embedding(ReadOnlySpan<int> tokens, ReadOnlySpan<float> table, Span<float> y, int dim)
    {
        Require(y.Length >= (long)tokens.Length * dim, "Embedding: y must be [tokens, dim]");
        for (int t = 0; t < tokens.Length; t++)
        {
            Require(tokens[t] >= 0 && (long)(tokens[t] + 1) * dim <= table.Length, $"Embedding: token {tokens[t]} is outside the table");
            table.Slice(tokens[t] * dim, dim).CopyTo(y.Slice(t * dim, dim));
        }
    }

    /// <summary>
    /// Writes each token's K and V into its cache slot: k and v are [numTokens, kvDim]
    /// (kvDim = numKvHeads · headDim); kPool and vPool are [numBlocks, blockSize, numKvHeads, headDim],
    /// so slot s starts at s · kvDim; slots[t] = block · blockSize + offset. A negative slot is skipped
    /// (a padding token).
    /// </summary>
    public static void ReshapeAndCache(ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> slots, Span<float> kPool, Span<float> vPool, int numTokens, int kvDim)
    {
        for (int t = 0; t < numTokens; t++)
        {
            int s = slots[t];
            if (s < 0)
            {
                continue;
            }

            Require((long)(s + 1) * kvDim <= kPool.Length && (long)(s + 1) * kvDim <= vPool.Length, $"ReshapeAndCache: slot {s} is outside the pools");
            k.Slice(t * kvDim, kvDim).CopyTo(kPool.Slice(s * kvDim, kvDim));
            v.Slice(t * kvDim, kvDim).CopyTo(vPool.Slice(s * kvDim, kvDim));
        }
    }

    /// <summary>
    /// Causal paged attention for a flattened batch. q is [numTokens, numHeads · headDim] (already
    /// roped); output the same shape. Sequence s owns tokens queryStart[s] .. queryStart[s+1]-1; token
    /// t at positions[t] attends to its sequence's positions 0..positions[t], read from kPool/vPool
    /// ([numBlocks, blockSize, numKvHeads, headDim]) through blockTables (row s, [numSeqs,
    /// maxBlocksPerSeq], physical block ids in logical order). Query head h reads kv head
    /// h / (numHeads / numKvHeads). Scores are scaled by 1/sqrt(headDim).
    /// </summary>
    public static void PagedAttention(
        ReadOnlySpan<float> q,
        ReadOnlySpan<float> kPool,
        ReadOnlySpan<float> vPool,
        ReadOnlySpan<int> blockTables,
        int maxBlocksPerSeq,
        ReadOnlySpan<int> queryStart,
        ReadOnlySpan<int> positions,
        int numSeqs,
        int blockSize,
        int numHeads,
        int numKvHeads,
        int headDim,
        Span<float> output)
    {
        Require(numHeads % numKvHeads == 0, "PagedAttention: numKvHeads must divide numHeads");
        int numTokens = queryStart[numSeqs];
        int qDim = numHeads * headDim;
        int kvDim = numKvHeads * headDim;
        Require(q.Length >= (long)numTokens * qDim && output.Length >= (long)numTokens * qDim, "PagedAttention: q and output must be [numTokens, numHeads*headDim]");
        int maxPos = 0;
        foreach (int p in positions[..numTokens])
        {
            maxPos = Math.Max(maxPos, p);
        }

        var scores = new float[maxPos + 1];
        fixed (float* pq = q, pk = kPool, pv = vPool, po = output, ps = scores)
        fixed (int* tables = blockTables)
        {
            for (int s = 0; s < numSeqs; s++)
            {
                for (int t = queryStart[s]; t < queryStart[s + 1]; t++)
                {
                    int ctx = positions[t] + 1;
                    Require((ctx + blockSize - 1) / blockSize <= maxBlocksPerSeq, $"PagedAttention: position {positions[t]} is beyond the block table");
                    for (int h = 0; h < numHeads; h++)
                    {
                        AttentionKernel.AttendOne(
                            pq + ((long)t * qDim) + (h * headDim),
                            pk,
                            pv,
                            tables + ((long)s * maxBlocksPerSeq),
                            blockSize,
                            h / (numHeads / numKvHeads) * headDim,
                            kvDim,
                            headDim,
                            0,
                            ctx,
                            1f / MathF.Sqrt(headDim),
                            0f,
                            ps,
                            po + ((long)t * qDim) + (h * headDim));
                    }
                }
            }
        }
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
