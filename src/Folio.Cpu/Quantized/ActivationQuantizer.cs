using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Folio.Cpu.Quantized;

/// <summary>
/// Activations to int8, per row and block, as llama.cpp's activation formats do (q8_0 and q8_1 for
/// 32-value blocks, q8_K for 256): for each block, d = max|x| / 127, q = round-half-even(x * i) with
/// i = 127 / max|x| for 32-value blocks and 1 / d for 256 (0 where d is 0), the multipliers and the
/// rounding llama.cpp's x86 kernels use. For 32-value blocks the stored scale is
/// d rounded to f16 (as q8_0 and q8_1 store it) and s = f16(d * Σq) (q8_1's term for the formats with
/// an offset m). Every step is one IEEE operation or an exact one (max, integer sums, f16 rounding),
/// so the vector and scalar forms give the same bytes: what makes the int8 path independent of the
/// machine's vector width.
/// </summary>
internal static unsafe class ActivationQuantizer
{
    /// <param name="scaledSums">for 32-value blocks, receives s per block; null for 256.</param>
    public static void Quantize(float* x, int k, int block, sbyte* q, float* d, int* sums16, float* scaledSums)
    {
        for (int b = 0; b < k / block; b++)
        {
            float* xb = x + (b * block);
            float amax = Avx2.IsSupported ? MaxAbs256(xb, block) : MaxAbsScalar(xb, block);
            float scale = amax / 127f;

            // llama.cpp's x86 q8_0/q8_1 take 127 / max as the multiplier, its q8_K 1 / d.
            float inverse = scale == 0 ? 0f : block == 32 ? 127f / amax : 1f / scale;
            sbyte* qb = q + (b * block);
            int* sb = sums16 + (b * block / 16);
            if (Avx2.IsSupported)
            {
                Round256(xb, block, inverse, qb, sb);
            }
            else
            {
                RoundScalar(xb, block, inverse, qb, sb);
            }

            if (block == 32)
            {
                d[b] = (float)(Half)scale;
                scaledSums[b] = (float)(Half)(scale * (sb[0] + sb[1]));
            }
            else
            {
                d[b] = scale;
            }
        }
    }

    private static float MaxAbs256(float* x, int n)
    {
        var m = Vector256<float>.Zero;
        for (int i = 0; i < n; i += 8)
        {
            m = Avx.Max(m, Vector256.Abs(Vector256.Load(x + i)));
        }

        var h = Sse.Max(m.GetLower(), m.GetUpper());
        h = Sse.Max(h, Sse.MoveHighToLow(h, h));
        h = Sse.Max(h, Sse.Shuffle(h, h, 1));
        return h.ToScalar();
    }

    private static float MaxAbsScalar(float* x, int n)
    {
        float m = 0;
        for (int i = 0; i < n; i++)
        {
            float a = MathF.Abs(x[i]);
            m = a > m ? a : m;
        }

        return m;
    }

    private static void Round256(float* x, int n, float inverse, sbyte* q, int* sums16)
    {
        var vi = Vector256.Create(inverse);
        var hi = Vector256.Create(127);
        var lo = Vector256.Create(-127);
        for (int i = 0; i < n; i += 16)
        {
            // cvtps2dq rounds half to even (the default MXCSR mode), as MathF.Round does.
            var a = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Vector256.Load(x + i) * vi), lo), hi);
            var b = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Vector256.Load(x + i + 8) * vi), lo), hi);
            var s = a + b;
            var h = Sse2.Add(s.GetLower(), s.GetUpper());
            h = Sse2.Add(h, Sse2.Shuffle(h, 0b_01_00_11_10));
            h = Sse2.Add(h, Sse2.Shuffle(h, 0b_10_11_00_01));
            sums16[i / 16] = h.ToScalar();
            var packed = Avx2.PackSignedSaturate(a, b); // 16-bit, lanes interleaved by 128-bit halves
            var bytes = Sse2.PackSignedSaturate(packed.GetLower(), packed.GetUpper());
            // packs within 128-bit lanes give order a0-3 b0-3 a4-7 b4-7; the second pack keeps that, so reorder the dwords.
            Sse2.Shuffle(bytes.AsInt32(), 0b_11_01_10_00).AsSByte().Store(q + i);
        }
    }

    private static void RoundScalar(float* x, int n, float inverse, sbyte* q, int* sums16)
    {
        for (int i = 0; i < n; i += 16)
        {
            int sum = 0;
            for (int j = i; j < i + 16; j++)
            {
                int v = (int)MathF.Round(x[j] * inverse);
                v = Math.Clamp(v, -127, 127);
                q[j] = (sbyte)v;
                sum += v;
            }

            sums16[i / 16] = sum;
        }
    }
}
