using System.Runtime.Intrinsics;

namespace Folio.Cpu;

/// <summary>
/// Small reductions and element-wise functions whose result depends only on the values and the
/// length, never on the address (TensorPrimitives may peel to an alignment boundary, which would
/// make a sum depend on where a K/V row happens to sit in the pool). Element-wise transcendental
/// functions run every element through the same vector routine, the tail zero-padded, so an
/// element's value never depends on its index either.
/// </summary>
internal static unsafe class VectorMath
{
    /// <summary>Σ a[i]·b[i] in a fixed order: 16-lane partial sums (fused), then their tree sum, then the tail.</summary>
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc);
            }

            sum = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        }

        return sum;
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
    public static void ExpShifted(float* x, int n, float shift)
    {
        var vs = Vector512.Create(shift);
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector512.Exp(Vector512.Load(x + i) - vs).Store(x + i);
        }

        if (i < n)
        {
            float* tmp = stackalloc float[16];
            new Span<float>(tmp, 16).Clear();
            new Span<float>(x + i, n - i).CopyTo(new Span<float>(tmp, 16));
            Vector512.Exp(Vector512.Load(tmp) - vs).Store(tmp);
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
        g / (Vector512<float>.One + Vector512.Exp(-g)) * u;

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
}
