using Folio.Cpu;
using Folio.Cuda.Kernels;
using Folio.Cuda.Runner;
using Folio.Models;

using Folio.Cuda;

namespace Folio.Cli.Cuda;

/// <summary>
/// Runs every kernel on the device on random inputs and compares with the C# CPU backend
/// (Folio.Cpu.CpuKernels): what the host emulation shows in CI, shown again on real hardware.
/// </summary>
public sealed unsafe class DeviceKernelChecks : IDisposable
{
    private readonly CudaContext _ctx;
    private readonly CudaStream _stream;
    private readonly CudaKernelSet _k;
    private readonly Random _rng = new(1234);
    private readonly List<DeviceBuffer> _temps = [];

    public DeviceKernelChecks(CudaContext ctx, string? kernelCache = null)
    {
        _ctx = ctx;
        _stream = ctx.CreateStream();
        _k = new CudaKernelSet(ctx, kernelCache);
    }

    public int Arch => _k.Arch;

    public IEnumerable<CheckResult> RunAll()
    {
        yield return RmsNorm();
        yield return Rotary(RopeStyle.RotateHalf);
        yield return Rotary(RopeStyle.Interleaved);
        yield return PartialScaledRotary();
        yield return SiluAndMul();
        yield return Embedding();
        yield return ReshapeAndCache();
        yield return Gemm();
        foreach (int headDim in new[] { 64, 80, 96, 112, 128, 256 })
        {
            foreach (int blockSize in new[] { 16, 32 })
            {
                foreach (int gqa in new[] { 1, 4, 8 })
                {
                    yield return Attention(headDim, blockSize, gqa, [4096, 1000, 17, 1], split: false);
                    yield return Attention(headDim, blockSize, gqa, [4096, 1000, 17, 1], split: true);
                    yield return Prefill(headDim, blockSize, gqa);
                }
            }
        }

        // Gemma's variants: a soft-cap, a sliding window (split-K partitions wholly before it), both.
        foreach (var (softcap, window) in new[] { (50f, 0), (0f, 1000), (30f, 333) })
        {
            yield return Attention(128, 16, 4, [4096, 1000, 17, 1], split: false, softcap, window);
            yield return Attention(256, 16, 2, [4096, 1000, 17, 1], split: true, softcap, window);
            yield return Prefill(128, 32, 4, softcap, window);
        }

        yield return Argmax();
        FreeTemps();
    }

    private static float Bf16Round(float f) => BitConverter.UInt32BitsToSingle((uint)DTypeConversion.F32ToBF16(f) << 16);

    private float[] Rand(int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)((_rng.NextDouble() * 2) - 1) * scale;
        }

        return a;
    }

    private DeviceBuffer Dev<T>(T[] host)
        where T : unmanaged
    {
        var b = _ctx.Allocate((long)host.Length * sizeof(T));
        b.Upload<T>(host);
        _temps.Add(b);
        return b;
    }

    private DeviceBuffer DevZero(long bytes)
    {
        var b = _ctx.Allocate(bytes);
        b.Clear();
        _temps.Add(b);
        return b;
    }

    private T[] Host<T>(DeviceBuffer b, int n)
        where T : unmanaged
    {
        _stream.Synchronize();
        var a = new T[n];
        b.Download<T>(a);
        return a;
    }

    private void FreeTemps()
    {
        foreach (var b in _temps)
        {
            b.Dispose();
        }

        _temps.Clear();
    }

    private CheckResult RmsNorm()
    {
        int rows = 7, hidden = 4096;
        var x = Rand(rows * hidden, 2f);
        var w = Rand(hidden);
        var expected = new float[rows * hidden];
        CpuKernels.RmsNorm(x, w, expected, rows, hidden, 1e-5f);
        var o = DevZero(rows * hidden * 4L);
        _k.Get("folio_rms_norm_f32").Launch(_stream, (rows, 1, 1), KernelShapes.RowThreads, 0, new KernelArgs().Ptr(o).Ptr(Dev(x)).Ptr(null).Ptr(Dev(w)).Float(1e-5f).Float(0f).Int(hidden));
        return CheckResult.Compare("rms_norm (f32)", expected, Host<float>(o, rows * hidden), 1e-5, 1e-5);
    }

    private CheckResult Rotary(RopeStyle style)
    {
        int tokens = 9, heads = 32, kvHeads = 8, headDim = 128;
        int stride = (heads + (2 * kvHeads)) * headDim;
        var qkv = Rand(tokens * stride, 2f);
        int[] pos = [0, 1, 2, 100, 1000, 4095, 8191, 30000, 131071];
        var inv = RotaryEmbedding.InverseFrequencies(headDim, 500000f, new Llama3RopeScaling(8f, 1f, 4f, 8192));
        var expected = (float[])qkv.Clone();
        CpuKernels.Rope(expected, pos, tokens, stride, heads, headDim, inv, style);
        CpuKernels.Rope(expected.AsSpan(heads * headDim), pos, tokens, stride, kvHeads, headDim, inv, style);
        var d = Dev(qkv);
        _k.Rotary.Launch(_stream, (tokens, 1, 1), KernelShapes.SmallThreads, 0,
            new KernelArgs().Ptr(d).Ptr(d.Pointer + (ulong)(heads * headDim * 4)).Ptr(Dev(pos)).Ptr(Dev(inv)).Int(stride).Int(stride).Int(heads).Int(kvHeads).Int(headDim).Int(headDim).Int(style == RopeStyle.Interleaved ? 1 : 0).Float(1f));
        return CheckResult.Compare($"rotary ({style})", expected, Host<float>(d, qkv.Length), 1e-5, 1e-5);
    }

    /// <summary>Phi-3's partial rotary (48 of 96 dimensions) with LongRoPE's long factors and attention factor on cos/sin, against the CPU backend's angles.</summary>
    private CheckResult PartialScaledRotary()
    {
        int tokens = 9, heads = 32, kvHeads = 8, headDim = 96, rotaryDim = 48, half = rotaryDim / 2;
        int stride = (heads + (2 * kvHeads)) * headDim;
        var qkv = Rand(tokens * stride, 2f);
        int[] pos = [0, 1, 2, 100, 1000, 4095, 8191, 30000, 131071];
        var scaling = new LongRopeScaling([.. Enumerable.Range(0, half).Select(i => 1f + (0.1f * i))], [.. Enumerable.Range(0, half).Select(i => 2f + (0.5f * i))], 4096, LongRopeScaling.DefaultAttentionFactor(32, 4096));
        var inv = RopeFrequencies.Inverse(rotaryDim, 10000f, scaling, 131072);
        double factor = RopeFrequencies.AttentionFactor(scaling);
        var expected = (float[])qkv.Clone();
        var cos = new float[half];
        var sin = new float[half];
        for (int t = 0; t < tokens; t++)
        {
            RotaryEmbedding.Angles(pos[t], inv, cos, sin, factor);
            for (int h = 0; h < heads + kvHeads; h++)
            {
                int o = (t * stride) + (h * headDim);
                for (int i = 0; i < half; i++)
                {
                    float x1 = expected[o + i], x2 = expected[o + i + half];
                    expected[o + i] = (x1 * cos[i]) - (x2 * sin[i]);
                    expected[o + i + half] = (x2 * cos[i]) + (x1 * sin[i]);
                }
            }
        }

        var d = Dev(qkv);
        _k.Rotary.Launch(_stream, (tokens, 1, 1), KernelShapes.SmallThreads, 0,
            new KernelArgs().Ptr(d).Ptr(d.Pointer + (ulong)(heads * headDim * 4)).Ptr(Dev(pos)).Ptr(Dev(inv)).Int(stride).Int(stride).Int(heads).Int(kvHeads).Int(headDim).Int(rotaryDim).Int(0).Float((float)factor));
        return CheckResult.Compare("rotary (partial 48 of 96, LongRoPE factors and attention factor)", expected, Host<float>(d, qkv.Length), 1e-5, 1e-5);
    }

    private CheckResult SiluAndMul()
    {
        int tokens = 5, inter = 14336;
        var gu = Rand(tokens * 2 * inter, 6f);
        var expected = new float[tokens * inter];
        for (int t = 0; t < tokens; t++)
        {
            CpuKernels.SiluAndMul(gu.AsSpan(t * 2 * inter, inter), gu.AsSpan((t * 2 * inter) + inter, inter), expected.AsSpan(t * inter, inter));
        }

        var o = DevZero(tokens * inter * 4L);
        _k.Get("folio_silu_and_mul_f32").Launch(_stream, (tokens, 1, 1), KernelShapes.RowThreads, 0, new KernelArgs().Ptr(o).Ptr(Dev(gu)).Int(inter));
        return CheckResult.Compare("silu_and_mul (f32)", expected, Host<float>(o, expected.Length), 1e-5, 1e-5);
    }

    private CheckResult Embedding()
    {
        int vocab = 1000, hidden = 2048;
        var table = Rand(vocab * hidden);
        int[] ids = [0, 999, 5, 5, 123];
        var expected = new float[ids.Length * hidden];
        CpuKernels.Embedding(ids, table, expected, hidden);
        var o = DevZero(expected.Length * 4L);
        _k.Get("folio_embedding_f32").Launch(_stream, (ids.Length, 1, 1), KernelShapes.RowThreads, 0, new KernelArgs().Ptr(o).Ptr(Dev(table)).Ptr(Dev(ids)).Int(hidden).Int(vocab).Float(1f));
        return CheckResult.Compare("embedding (f32)", expected, Host<float>(o, expected.Length), 0, 0);
    }

    private CheckResult ReshapeAndCache()
    {
        int kvHeads = 8, headDim = 128, blockSize = 16, blocks = 6, tokens = 5, kvDim = kvHeads * headDim;
        var k = Rand(tokens * kvDim);
        var v = Rand(tokens * kvDim);
        int[] slots = [0, 17, -1, 95, 40];
        int pool = blocks * blockSize * kvDim;
        var ek = new float[pool];
        var ev = new float[pool];
        CpuKernels.ReshapeAndCache(k, v, slots, ek, ev, tokens, kvDim);
        var kc = DevZero(pool * 4L);
        var vc = DevZero(pool * 4L);
        _k.Get("folio_reshape_and_cache_f32").Launch(_stream, (tokens, 1, 1), KernelShapes.SmallThreads, 0,
            new KernelArgs().Ptr(Dev(k)).Ptr(Dev(v)).Ptr(kc).Ptr(vc).Ptr(Dev(slots)).Int(kvDim).Int(kvDim).Int(kvHeads).Int(headDim));
        var both = ek.Concat(ev).ToArray();
        var got = Host<float>(kc, pool).Concat(Host<float>(vc, pool)).ToArray();
        return CheckResult.Compare("reshape_and_cache (f32)", both, got, 0, 0);
    }

    private CheckResult Gemm()
    {
        int m = 33, n = 4096, k = 1024;
        var x = Rand(m * k).Select(f => DTypeConversion.F32ToBF16(f)).ToArray();
        var w = Rand(n * k).Select(f => DTypeConversion.F32ToBF16(f)).ToArray();
        var xf = new float[x.Length];
        var wf = new float[w.Length];
        DTypeConversion.BF16ToF32(x, xf);
        DTypeConversion.BF16ToF32(w, wf);
        var expected = new float[m * n];
        CpuKernels.Matmul(xf, wf, expected, m, n, k);
        var y = DevZero(m * n * 4L);
        using (var gemm = new CublasGemm(_ctx, _stream))
        {
            gemm.Run(Dev(x).Pointer, Dev(w).Pointer, y.Pointer, m, n, k);
            _stream.Synchronize();
        }

        return CheckResult.Compare("cuBLAS GEMM bf16 x bf16 -> f32", expected, Host<float>(y, expected.Length), 1e-3, 1e-3);
    }

    private (float[] Q, float[] K, float[] V, int[] Tables, int MaxBlocks, int[] QueryStart, int[] Positions, int Heads, int NumTokens) Case(int headDim, int blockSize, int gqa, int[] ctx, int[] qlen, int kvHeads)
    {
        int heads = kvHeads * gqa;
        int maxBlocks = ctx.Max(c => (c + blockSize - 1) / blockSize);
        int used = ctx.Sum(c => (c + blockSize - 1) / blockSize);
        var ids = Enumerable.Range(0, used + 2).OrderBy(_ => _rng.Next()).ToArray();
        var tables = new int[ctx.Length * maxBlocks];
        int next = 0;
        for (int s = 0; s < ctx.Length; s++)
        {
            for (int b = 0; b < (ctx[s] + blockSize - 1) / blockSize; b++)
            {
                tables[(s * maxBlocks) + b] = ids[next++];
            }
        }

        int pool = (used + 2) * blockSize * kvHeads * headDim;
        var k = Rand(pool).Select(f => Bf16Round(f)).ToArray();
        var v = Rand(pool).Select(f => Bf16Round(f)).ToArray();
        var qs = new int[ctx.Length + 1];
        for (int s = 0; s < ctx.Length; s++)
        {
            qs[s + 1] = qs[s] + qlen[s];
        }

        int nt = qs[^1];
        var q = Rand(nt * heads * headDim, 3f);
        var pos = new int[nt];
        for (int s = 0; s < ctx.Length; s++)
        {
            for (int i = 0; i < qlen[s]; i++)
            {
                pos[qs[s] + i] = ctx[s] - qlen[s] + i;
            }
        }

        return (q, k, v, tables, maxBlocks, qs, pos, heads, nt);
    }

    private CheckResult Attention(int headDim, int blockSize, int gqa, int[] ctx, bool split, float softcap = 0f, int window = 0)
    {
        int kvHeads = 2;
        var c = Case(headDim, blockSize, gqa, ctx, ctx.Select(_ => 1).ToArray(), kvHeads);
        var expected = new float[c.NumTokens * c.Heads * headDim];
        Expected(c, ctx.Length, blockSize, kvHeads, headDim, softcap, window, expected);
        int maxCtx = ctx.Max();
        int part = split ? KernelShapes.DefaultPartitionSize : maxCtx;
        int parts = split ? KernelShapes.Partitions(maxCtx, part) : 1;
        var o = DevZero(expected.Length * 2L);
        var tmp = DevZero((long)ctx.Length * c.Heads * parts * headDim * 4);
        var ml = DevZero((long)ctx.Length * c.Heads * parts * 4);
        var es = DevZero((long)ctx.Length * c.Heads * parts * 4);
        var kc = Dev(c.K.Select(DTypeConversion.F32ToBF16).ToArray());
        var vc = Dev(c.V.Select(DTypeConversion.F32ToBF16).ToArray());
        var ctxLens = Dev(ctx);
        _k.Decode.Launch(_stream, (c.Heads, ctx.Length, parts), KernelShapes.AttentionThreads, KernelShapes.DecodeSharedBytes(headDim, part),
            new KernelArgs().Ptr(o).Ptr(tmp).Ptr(ml).Ptr(es).Ptr(Dev(c.Q)).Int(c.Heads * headDim).Ptr(kc).Ptr(vc).Ptr(Dev(c.Tables)).Int(c.MaxBlocks)
                .Ptr(ctxLens).Int(kvHeads).Int(headDim).Int(blockSize).Float(1f / MathF.Sqrt(headDim)).Int(part).Float(softcap).Int(window));
        if (split)
        {
            _k.Reduce.Launch(_stream, (c.Heads, ctx.Length, 1), KernelShapes.AttentionThreads, KernelShapes.ReduceSharedBytes(parts),
                new KernelArgs().Ptr(o).Ptr(tmp).Ptr(ml).Ptr(es).Ptr(ctxLens).Int(headDim).Int(part).Int(parts));
        }

        var got16 = Host<ushort>(o, expected.Length);
        var got = new float[got16.Length];
        DTypeConversion.BF16ToF32(got16, got);
        var r = CheckResult.Compare($"decode {(split ? "split-K" : "single")} d={headDim} bs={blockSize} gqa={gqa}{Variant(softcap, window)}", expected, got, 1e-4, 1.0 / 128);
        FreeTemps();
        return r;
    }

    private CheckResult Prefill(int headDim, int blockSize, int gqa, float softcap = 0f, int window = 0)
    {
        int kvHeads = 2;
        int[] ctx = [300, 1200, 64];
        int[] qlen = [300, 77, 1];
        var c = Case(headDim, blockSize, gqa, ctx, qlen, kvHeads);
        var expected = new float[c.NumTokens * c.Heads * headDim];
        Expected(c, ctx.Length, blockSize, kvHeads, headDim, softcap, window, expected);
        var o = DevZero(expected.Length * 2L);
        _k.Prefill.Launch(_stream, (c.Heads, ctx.Length, KernelShapes.PrefillTiles(qlen.Max())), KernelShapes.AttentionThreads, KernelShapes.PrefillSharedBytes(headDim),
            new KernelArgs().Ptr(o).Ptr(Dev(c.Q)).Int(c.Heads * headDim).Ptr(Dev(c.K.Select(DTypeConversion.F32ToBF16).ToArray())).Ptr(Dev(c.V.Select(DTypeConversion.F32ToBF16).ToArray()))
                .Ptr(Dev(c.Tables)).Int(c.MaxBlocks).Ptr(Dev(ctx)).Ptr(Dev(c.QueryStart)).Int(kvHeads).Int(headDim).Int(blockSize).Float(1f / MathF.Sqrt(headDim)).Float(softcap).Int(window));
        var got16 = Host<ushort>(o, expected.Length);
        var got = new float[got16.Length];
        DTypeConversion.BF16ToF32(got16, got);
        var r = CheckResult.Compare($"prefill d={headDim} bs={blockSize} gqa={gqa}{Variant(softcap, window)}", expected, got, 1e-4, 1.0 / 128);
        FreeTemps();
        return r;
    }

    private static string Variant(float softcap, int window) =>
        (softcap > 0 ? $" softcap={softcap}" : "") + (window > 0 ? $" window={window}" : "");

    /// <summary>The CPU backend's paged attention; with a soft-cap or window, the same definition in float64 (CpuKernels has neither).</summary>
    private static void Expected((float[] Q, float[] K, float[] V, int[] Tables, int MaxBlocks, int[] QueryStart, int[] Positions, int Heads, int NumTokens) c,
        int seqs, int blockSize, int kvHeads, int headDim, float softcap, int window, float[] expected)
    {
        if (softcap == 0 && window == 0)
        {
            CpuKernels.PagedAttention(c.Q, c.K, c.V, c.Tables, c.MaxBlocks, c.QueryStart, c.Positions, seqs, blockSize, c.Heads, kvHeads, headDim, expected);
            return;
        }

        AttentionVariantReference.Run(c.Q, c.K, c.V, c.Tables, c.MaxBlocks, c.QueryStart, c.Positions, seqs, blockSize, c.Heads, kvHeads, headDim, 1.0 / Math.Sqrt(headDim), softcap, window, expected);
    }

    private CheckResult Argmax()
    {
        int rows = 8, vocab = 128256;
        var logits = Rand(rows * vocab, 20f);
        logits[(3 * vocab) + 77] = 100f;
        logits[(3 * vocab) + 50000] = 100f;
        var o = DevZero(rows * 4L);
        _k.Argmax.Launch(_stream, (rows, 1, 1), KernelShapes.SampleThreads, 0, new KernelArgs().Ptr(o).Ptr(Dev(logits)).Int(vocab));
        var got = Host<int>(o, rows);
        var expected = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            int best = 0;
            for (int i = 1; i < vocab; i++)
            {
                if (logits[(r * vocab) + i] > logits[(r * vocab) + best])
                {
                    best = i;
                }
            }

            expected[r] = best;
        }

        return CheckResult.Compare("argmax (lowest id on ties)", expected, got.Select(i => (float)i).ToArray(), 0, 0);
    }

    public void Dispose()
    {
        FreeTemps();
        _k.Dispose();
        _stream.Dispose();
    }
}
