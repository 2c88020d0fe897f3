using System.Runtime.Intrinsics;

namespace Folio.Cpu;

/// <summary>
/// Small reductions and element-wise functions whose result depends only on the values and the
/// length, never on the address (TensorPrimitives may peel to an alignment boundary, which would
/// make a sum depend on where a K/V row happens to sit in the pool) nor on the vector width
/// (reductions run in 16 logical lanes everywhere). Element-wise transcendental functions run every
/// element through the same routine built from single IEEE operations, the tail zero-padded, so an
/// element's value depends neither on its index nor on the hardware.
/// </summary>
internal static unsafe class VectorMath
{
    /// <summary>The logical lane count of every reduction, whatever the hardware's vector width.</summary>
    public const int ReductionLanes = 16;

    /// <summary>
    /// Σ a[i]·b[i] in one order, fixed by n alone: 16 lanes, lane j a fused multiply-add chain over
    /// elements j, j+16, j+32, ... of the whole 16-element chunks; then the halving tree
    /// (lane j + lane j+8, then j + j+4, j + j+2, j + j+1); then the tail elements in order, fused
    /// onto that sum. AVX-512 holds the 16 lanes in one register, AVX2 in two, the scalar form in
    /// sixteen floats: the same operations on the same values, so the same bits.
    /// </summary>
    public static float Dot(float* a, float* b, int n)
    {
        int whole = n / ReductionLanes * ReductionLanes;
        float sum = 0;
        if (whole > 0)
        {
            Vector256<float> s8;
            if (Vector512.IsHardwareAccelerated)
            {
                var acc = Vector512<float>.Zero;
                for (int i = 0; i < whole; i += 16)
                {
                    acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc);
                }

                s8 = acc.GetLower() + acc.GetUpper();
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var lo = Vector256<float>.Zero;
                var hi = Vector256<float>.Zero;
                for (int i = 0; i < whole; i += 16)
                {
                    lo = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), lo);
                    hi = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), hi);
                }

                s8 = lo + hi;
            }
            else
            {
                return DotScalar(a, b, n);
            }

            sum = FoldSum(s8);
        }

        for (int i = whole; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        }

        return sum;
    }

    /// <summary>
    /// A 16-lane partial sum folded as <see cref="Dot"/> folds it: the two halves added, then
    /// <see cref="FoldSum(Vector256{float})"/>. Kernels that compute several dots side by side fold
    /// with this, so each of their dots has <see cref="Dot"/>'s bits.
    /// </summary>
    public static float FoldSum(Vector512<float> acc) => FoldSum(acc.GetLower() + acc.GetUpper());

    /// <summary>An 8-lane partial sum folded in <see cref="Dot"/>'s order: the halves added, then lanes (0 + 2) + (1 + 3).</summary>
    public static float FoldSum(Vector256<float> s8)
    {
        var s4 = s8.GetLower() + s8.GetUpper();
        return (s4[0] + s4[2]) + (s4[1] + s4[3]);
    }

    /// <summary><see cref="Dot"/> without vectors: the same 16 lanes and tree, one float at a time.</summary>
    internal static float DotScalar(float* a, float* b, int n)
    {
        int whole = n / ReductionLanes * ReductionLanes;
        float* lanes = stackalloc float[ReductionLanes];
        new Span<float>(lanes, ReductionLanes).Clear();
        for (int i = 0; i < whole; i += ReductionLanes)
        {
            for (int j = 0; j < ReductionLanes; j++)
            {
                lanes[j] = MathF.FusedMultiplyAdd(a[i + j], b[i + j], lanes[j]);
            }
        }

        float sum = whole > 0 ? FoldLanes(lanes) : 0;

        for (int i = whole; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        }

        return sum;
    }

    /// <summary>
    /// Σ x[i] in <see cref="Dot"/>'s order with additions for its fused multiply-adds: 16 lanes, lane j
    /// the sum of elements j, j+16, j+32, ... of the whole 16-element chunks; the halving tree; then
    /// the tail elements in order. Attention's softmax divides by this sum: one dependent addition a
    /// key was a fifth of a long context's attention, sixteen chains side by side are not.
    /// </summary>
    public static float Sum(float* x, int n)
    {
        int whole = n / ReductionLanes * ReductionLanes;
        float sum = 0;
        if (whole > 0)
        {
            Vector256<float> s8;
            if (Vector512.IsHardwareAccelerated)
            {
                var acc = Vector512<float>.Zero;
                for (int i = 0; i < whole; i += 16)
                {
                    acc += Vector512.Load(x + i);
                }

                s8 = acc.GetLower() + acc.GetUpper();
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var lo = Vector256<float>.Zero;
                var hi = Vector256<float>.Zero;
                for (int i = 0; i < whole; i += 16)
                {
                    lo += Vector256.Load(x + i);
                    hi += Vector256.Load(x + i + 8);
                }

                s8 = lo + hi;
            }
            else
            {
                return SumScalar(x, n);
            }

            sum = FoldSum(s8);
        }

        for (int i = whole; i < n; i++)
        {
            sum += x[i];
        }

        return sum;
    }

    /// <summary><see cref="Sum"/> without vectors: the same 16 lanes and tree, one float at a time.</summary>
    internal static float SumScalar(float* x, int n)
    {
        int whole = n / ReductionLanes * ReductionLanes;
        float* lanes = stackalloc float[ReductionLanes];
        new Span<float>(lanes, ReductionLanes).Clear();
        for (int i = 0; i < whole; i += ReductionLanes)
        {
            for (int j = 0; j < ReductionLanes; j++)
            {
                lanes[j] += x[i + j];
            }
        }

        float sum = whole > 0 ? FoldLanes(lanes) : 0;

        for (int i = whole; i < n; i++)
        {
            sum += x[i];
        }

        return sum;
    }

    /// <summary>The scalar forms' sixteen lanes folded as <see cref="FoldSum(Vector512{float})"/> folds them (the lanes are overwritten).</summary>
    private static float FoldLanes(float* lanes)
    {
        for (int width = ReductionLanes / 2; width >= 4; width /= 2)
        {
            for (int j = 0; j < width; j++)
            {
                lanes[j] += lanes[j + width];
            }
        }

        return (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
    }

    /// <summary>y += s · x (element-wise, fused; each element independent, so order-free).</summary>
    public static void AddScaled(float* y, float* x, float s, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; i + 16 <= n; i += 16)
            {
                Vector512.FusedMultiplyAdd(vs, Vector512.Load(x + i), Vector512.Load(y + i)).Store(y + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i + 8 <= n; i += 8)
            {
                Vector256.FusedMultiplyAdd(vs, Vector256.Load(x + i), Vector256.Load(y + i)).Store(y + i);
            }
        }

        for (; i < n; i++)
        {
            y[i] = MathF.FusedMultiplyAdd(s, x[i], y[i]);
        }
    }

    /// <summary>y = x · s element-wise.</summary>
    public static void Scale(float* y, float* x, float s, int n)
    {
        for (int i = 0; i < n; i++)
        {
            y[i] = x[i] * s;
        }
    }

    /// <summary>x[i] := exp(x[i] - shift) for i in [0, n), every element through the same 512-bit routine.</summary>
    /// <summary>
    /// max(x[0..n)), -∞ when empty, as a left-to-right MathF.Max fold gives it: the maximum is exact
    /// and does not depend on the order (NaN wins, +0 over -0, as in MathF.Max and Vector512.Max), so
    /// taking sixteen lanes at a time changes no bits; a scalar fold is a chain of dependent
    /// compares that cost a decode step's attention about a fifth of its time.
    /// </summary>
    public static float Max(float* x, int n)
    {
        float max = float.NegativeInfinity;
        int i = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var m = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16)
            {
                m = Vector512.Max(m, Vector512.Load(x + i));
            }

            var q = Vector128.Max(Vector128.Max(m.GetLower().GetLower(), m.GetLower().GetUpper()), Vector128.Max(m.GetUpper().GetLower(), m.GetUpper().GetUpper()));
            for (int l = 0; l < 4; l++)
            {
                max = MathF.Max(max, q[l]);
            }
        }

        for (; i < n; i++)
        {
            max = MathF.Max(max, x[i]);
        }

        return max;
    }

    public static void ExpShifted(float* x, int n, float shift)
    {
        var vs = Vector512.Create(shift);
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Exp(Vector512.Load(x + i) - vs).Store(x + i);
        }

        if (i < n)
        {
            float* tmp = stackalloc float[16];
            new Span<float>(tmp, 16).Clear();
            new Span<float>(x + i, n - i).CopyTo(new Span<float>(tmp, 16));
            Exp(Vector512.Load(tmp) - vs).Store(tmp);
            new Span<float>(tmp, n - i).CopyTo(new Span<float>(x + i, n - i));
        }
    }

    /// <summary>y[i] = silu(g[i]) · u[i] = g / (1 + exp(-g)) · u, every element through the same routine.</summary>
    public static void SiluAndMul(float* g, float* u, float* y, int n)
    {
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            SiluMul16(Vector512.Load(g + i), Vector512.Load(u + i)).Store(y + i);
        }

        if (i < n)
        {
            float* tg = stackalloc float[16];
            float* tu = stackalloc float[16];
            new Span<float>(tg, 16).Clear();
            new Span<float>(tu, 16).Clear();
            new Span<float>(g + i, n - i).CopyTo(new Span<float>(tg, 16));
            new Span<float>(u + i, n - i).CopyTo(new Span<float>(tu, 16));
            SiluMul16(Vector512.Load(tg), Vector512.Load(tu)).Store(tg);
            new Span<float>(tg, n - i).CopyTo(new Span<float>(y + i, n - i));
        }
    }

    private static Vector512<float> SiluMul16(Vector512<float> g, Vector512<float> u) =>
        g / (Vector512<float>.One + Exp(-g)) * u;

    /// <summary>
    /// e^x per lane (inputs clamped to [-87, 88], where e^x is a normal float), from multiplies, adds
    /// and exact steps only: n = round(x log2 e), r = x - n ln2 in two parts (Cody-Waite), Cephes'
    /// degree-7 polynomial for e^r, times 2^n built from its bits. No fused multiply-add, so the
    /// result is the same with or without FMA hardware, and Vector512's emulation on narrower
    /// hardware (two 256-bit or four 128-bit halves) repeats the same per-lane steps. About 2 ulp.
    /// </summary>
    internal static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87f)), Vector512.Create(88f));
        var n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        var r = x - (n * Vector512.Create(0.693359375f));
        r -= n * Vector512.Create(-2.12194440e-4f);
        var p = Vector512.Create(1.9875691500e-4f);
        p = (p * r) + Vector512.Create(1.3981999507e-3f);
        p = (p * r) + Vector512.Create(8.3334519073e-3f);
        p = (p * r) + Vector512.Create(4.1665795894e-2f);
        p = (p * r) + Vector512.Create(1.6666665459e-1f);
        p = (p * r) + Vector512.Create(5.0000001201e-1f);
        p = (p * (r * r)) + r + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>y = x / sqrt(mean(x²) + eps) · w, the mean reduced in a fixed order.</summary>
    public static void RmsNorm(float* x, float* w, float* y, int n, float eps)
    {
        float ss = Dot(x, x, n);
        float inv = 1f / MathF.Sqrt((ss / n) + eps);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vinv = Vector512.Create(inv);
            for (; i + 16 <= n; i += 16)
            {
                (Vector512.Load(x + i) * vinv * Vector512.Load(w + i)).Store(y + i);
            }
        }

        for (; i < n; i++)
        {
            y[i] = x[i] * inv * w[i];
        }
    }

    /// <summary>y[i] = gelu_tanh(g[i]) · u[i] (GeGLU, Gemma), every element through the same routine.</summary>
    public static void GeluTanhAndMul(float* g, float* u, float* y, int n)
    {
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            GeluTanhMul16(Vector512.Load(g + i), Vector512.Load(u + i)).Store(y + i);
        }

        if (i < n)
        {
            float* tg = stackalloc float[16];
            float* tu = stackalloc float[16];
            new Span<float>(tg, 16).Clear();
            new Span<float>(tu, 16).Clear();
            new Span<float>(g + i, n - i).CopyTo(new Span<float>(tg, 16));
            new Span<float>(u + i, n - i).CopyTo(new Span<float>(tu, 16));
            GeluTanhMul16(Vector512.Load(tg), Vector512.Load(tu)).Store(tg);
            new Span<float>(tg, n - i).CopyTo(new Span<float>(y + i, n - i));
        }
    }

    /// <summary>x[i] := cap · tanh(x[i] / cap) (Gemma 2's soft-capping), every element through the same routine.</summary>
    public static void SoftCap(float* x, int n, float cap)
    {
        var inv = Vector512.Create(1f / cap);
        var vc = Vector512.Create(cap);
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            (Tanh(Vector512.Load(x + i) * inv) * vc).Store(x + i);
        }

        if (i < n)
        {
            float* tmp = stackalloc float[16];
            new Span<float>(tmp, 16).Clear();
            new Span<float>(x + i, n - i).CopyTo(new Span<float>(tmp, 16));
            (Tanh(Vector512.Load(tmp) * inv) * vc).Store(tmp);
            new Span<float>(tmp, n - i).CopyTo(new Span<float>(x + i, n - i));
        }
    }

    /// <summary>0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g³))) · u, as Hugging Face's gelu_pytorch_tanh and ggml's gelu.</summary>
    private static Vector512<float> GeluTanhMul16(Vector512<float> g, Vector512<float> u)
    {
        var inner = Vector512.Create(0.7978845608028654f) * (g + (Vector512.Create(0.044715f) * g * g * g));
        return Vector512.Create(0.5f) * g * (Vector512<float>.One + Tanh(inner)) * u;
    }

    /// <summary>
    /// tanh per lane from multiplies, adds, one division and <see cref="Exp"/>: an odd polynomial
    /// (Cephes' tanhf coefficients) below |x| = 0.625, where 1 - 2/(e^2x + 1) would cancel, and that
    /// form above. No fused multiply-add, for the same reason as <see cref="Exp"/>. About 2 ulp.
    /// </summary>
    internal static Vector512<float> Tanh(Vector512<float> x)
    {
        var ax = Vector512.Abs(x);
        var z = x * x;
        var p = Vector512.Create(-5.70498872745e-3f);
        p = (p * z) + Vector512.Create(2.06390887954e-2f);
        p = (p * z) + Vector512.Create(-5.37397155531e-2f);
        p = (p * z) + Vector512.Create(1.33314422036e-1f);
        p = (p * z) + Vector512.Create(-3.33332819422e-1f);
        var small = (p * z * x) + x;
        var e = Exp(ax + ax);
        var large = Vector512<float>.One - (Vector512.Create(2f) / (e + Vector512<float>.One));
        large = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -large, large);
        return Vector512.ConditionalSelect(Vector512.LessThan(ax, Vector512.Create(0.625f)), small, large);
    }

    /// <summary>
    /// ggml's CPU GeGLU for the oracle tests (<see cref="CpuRunnerOptions.GgmlF16Gelu"/>): 0 below
    /// -10, x above 10, else gelu of the input rounded to f16, the result rounded to f16, times u.
    /// </summary>
    public static void GeluTanhAndMulGgmlF16(float* g, float* u, float* y, int n)
    {
        for (int i = 0; i < n; i++)
        {
            float x = g[i];
            float gelu;
            if (x <= -10f)
            {
                gelu = 0f;
            }
            else if (x >= 10f)
            {
                gelu = x;
            }
            else
            {
                float h = (float)(Half)x;
                gelu = (float)(Half)(0.5f * h * (1f + MathF.Tanh(0.7978845608028654f * h * (1f + (0.044715f * h * h)))));
            }

            y[i] = gelu * u[i];
        }
    }
}
