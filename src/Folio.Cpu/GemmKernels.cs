using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Folio.Cpu;

/// <summary>
/// y = x · Wᵀ (+ bias) (or y += ...) over a <see cref="PackedMatrix"/>. Every output element is the
/// same chain of fused multiply-adds, acc = fma(x[r,k], W[n,k], acc) for k = 0..K-1 from acc = 0,
/// then + bias, then (when accumulating) y + that. The 6-, 4-, 2- and 1-row tiles, the 256-bit path
/// and the scalar path all compute exactly this chain (a fused multiply-add rounds once, whatever
/// its width), so a row's result never depends on how many rows the batch has, where the row sits
/// in it, or which thread computes which panel: the determinism the engine promises rests on this.
/// </summary>
[SkipLocalsInit]
internal static unsafe class GemmKernels
{
    private const int W = PackedMatrix.PanelWidth;

    /// <summary>
    /// Computes panels [panelStart, panelEnd) for all <paramref name="m"/> rows. x is [m, K] with row
    /// stride <paramref name="ldx"/>; y is [m, N] with row stride <paramref name="ldy"/>.
    /// </summary>
    public static void Run(float* x, int ldx, int m, PackedMatrix w, float* y, int ldy, bool accumulate, int panelStart, int panelEnd)
    {
        int k = w.K;
        for (int p = panelStart; p < panelEnd; p++)
        {
            int n0 = p * W;
            RunPanel(x, ldx, m, w.Data + ((long)p * k * W), k, y + n0, ldy, w.Bias == null ? null : w.Bias + n0, accumulate, Math.Min(W, w.N - n0));
        }
    }

    /// <summary>
    /// One panel ([K][64] f32, laid out as <see cref="PackedMatrix"/> packs it) for all <paramref name="m"/>
    /// rows: y[r, 0..valid) of the panel's columns. The packed matrix's path and the mapped experts'
    /// path (<see cref="MappedMatrix"/>, which packs a panel from the file just before) both end here.
    /// </summary>
    public static void RunPanel(float* x, int ldx, int m, float* panel, int k, float* y, int ldy, float* bias, bool accumulate, int valid)
    {
        int r = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; r + 6 <= m; r += 6)
            {
                Tile6x64V512(x + ((long)r * ldx), ldx, panel, k, y + ((long)r * ldy), ldy, bias, accumulate, valid);
            }

            for (; r + 4 <= m; r += 4)
            {
                Tile4x64V512(x + ((long)r * ldx), ldx, panel, k, y + ((long)r * ldy), ldy, bias, accumulate, valid);
            }

            for (; r + 2 <= m; r += 2)
            {
                Tile2x64V512(x + ((long)r * ldx), ldx, panel, k, y + ((long)r * ldy), ldy, bias, accumulate, valid);
            }

            for (; r < m; r++)
            {
                Tile1x64V512(x + ((long)r * ldx), panel, k, y + ((long)r * ldy), bias, accumulate, valid);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; r < m; r++)
            {
                Tile1x64V256(x + ((long)r * ldx), panel, k, y + ((long)r * ldy), bias, accumulate, valid);
            }
        }
        else
        {
            for (; r < m; r++)
            {
                Tile1x64Scalar(x + ((long)r * ldx), panel, k, y + ((long)r * ldy), bias, accumulate, valid);
            }
        }
    }

    /// <summary>6 rows x 64 columns: 24 accumulators, 4 weight vectors and a broadcast fill the 32 vector registers.</summary>
    private static void Tile6x64V512(float* x, int ldx, float* panel, int k, float* y, int ldy, float* bias, bool accumulate, int valid)
    {
        float* x0 = x;
        float* x1 = x0 + ldx;
        float* x2 = x1 + ldx;
        float* x3 = x2 + ldx;
        float* x4 = x3 + ldx;
        float* x5 = x4 + ldx;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;
        float* wp = panel;
        for (int i = 0; i < k; i++, wp += W)
        {
            var w0 = Vector512.Load(wp);
            var w1 = Vector512.Load(wp + 16);
            var w2 = Vector512.Load(wp + 32);
            var w3 = Vector512.Load(wp + 48);
            var a = Vector512.Create(x0[i]);
            c00 = Vector512.FusedMultiplyAdd(a, w0, c00);
            c01 = Vector512.FusedMultiplyAdd(a, w1, c01);
            c02 = Vector512.FusedMultiplyAdd(a, w2, c02);
            c03 = Vector512.FusedMultiplyAdd(a, w3, c03);
            a = Vector512.Create(x1[i]);
            c10 = Vector512.FusedMultiplyAdd(a, w0, c10);
            c11 = Vector512.FusedMultiplyAdd(a, w1, c11);
            c12 = Vector512.FusedMultiplyAdd(a, w2, c12);
            c13 = Vector512.FusedMultiplyAdd(a, w3, c13);
            a = Vector512.Create(x2[i]);
            c20 = Vector512.FusedMultiplyAdd(a, w0, c20);
            c21 = Vector512.FusedMultiplyAdd(a, w1, c21);
            c22 = Vector512.FusedMultiplyAdd(a, w2, c22);
            c23 = Vector512.FusedMultiplyAdd(a, w3, c23);
            a = Vector512.Create(x3[i]);
            c30 = Vector512.FusedMultiplyAdd(a, w0, c30);
            c31 = Vector512.FusedMultiplyAdd(a, w1, c31);
            c32 = Vector512.FusedMultiplyAdd(a, w2, c32);
            c33 = Vector512.FusedMultiplyAdd(a, w3, c33);
            a = Vector512.Create(x4[i]);
            c40 = Vector512.FusedMultiplyAdd(a, w0, c40);
            c41 = Vector512.FusedMultiplyAdd(a, w1, c41);
            c42 = Vector512.FusedMultiplyAdd(a, w2, c42);
            c43 = Vector512.FusedMultiplyAdd(a, w3, c43);
            a = Vector512.Create(x5[i]);
            c50 = Vector512.FusedMultiplyAdd(a, w0, c50);
            c51 = Vector512.FusedMultiplyAdd(a, w1, c51);
            c52 = Vector512.FusedMultiplyAdd(a, w2, c52);
            c53 = Vector512.FusedMultiplyAdd(a, w3, c53);
        }

        // Accumulators go to memory first: no vector value may stay live across a call, or the JIT
        // spills every accumulator inside the k loop.
        float* t = stackalloc float[6 * W];
        Spill(c00, c01, c02, c03, t);
        Spill(c10, c11, c12, c13, t + W);
        Spill(c20, c21, c22, c23, t + (2 * W));
        Spill(c30, c31, c32, c33, t + (3 * W));
        Spill(c40, c41, c42, c43, t + (4 * W));
        Spill(c50, c51, c52, c53, t + (5 * W));
        for (int r = 0; r < 6; r++)
        {
            StoreRow(t + (r * W), y + ((long)r * ldy), bias, accumulate, valid);
        }
    }

    private static void Tile4x64V512(float* x, int ldx, float* panel, int k, float* y, int ldy, float* bias, bool accumulate, int valid)
    {
        float* x0 = x;
        float* x1 = x + ldx;
        float* x2 = x1 + ldx;
        float* x3 = x2 + ldx;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        float* wp = panel;
        for (int i = 0; i < k; i++, wp += W)
        {
            var w0 = Vector512.Load(wp);
            var w1 = Vector512.Load(wp + 16);
            var w2 = Vector512.Load(wp + 32);
            var w3 = Vector512.Load(wp + 48);
            var a = Vector512.Create(x0[i]);
            c00 = Vector512.FusedMultiplyAdd(a, w0, c00);
            c01 = Vector512.FusedMultiplyAdd(a, w1, c01);
            c02 = Vector512.FusedMultiplyAdd(a, w2, c02);
            c03 = Vector512.FusedMultiplyAdd(a, w3, c03);
            a = Vector512.Create(x1[i]);
            c10 = Vector512.FusedMultiplyAdd(a, w0, c10);
            c11 = Vector512.FusedMultiplyAdd(a, w1, c11);
            c12 = Vector512.FusedMultiplyAdd(a, w2, c12);
            c13 = Vector512.FusedMultiplyAdd(a, w3, c13);
            a = Vector512.Create(x2[i]);
            c20 = Vector512.FusedMultiplyAdd(a, w0, c20);
            c21 = Vector512.FusedMultiplyAdd(a, w1, c21);
            c22 = Vector512.FusedMultiplyAdd(a, w2, c22);
            c23 = Vector512.FusedMultiplyAdd(a, w3, c23);
            a = Vector512.Create(x3[i]);
            c30 = Vector512.FusedMultiplyAdd(a, w0, c30);
            c31 = Vector512.FusedMultiplyAdd(a, w1, c31);
            c32 = Vector512.FusedMultiplyAdd(a, w2, c32);
            c33 = Vector512.FusedMultiplyAdd(a, w3, c33);
        }

        float* t = stackalloc float[4 * W];
        Spill(c00, c01, c02, c03, t);
        Spill(c10, c11, c12, c13, t + W);
        Spill(c20, c21, c22, c23, t + (2 * W));
        Spill(c30, c31, c32, c33, t + (3 * W));
        for (int r = 0; r < 4; r++)
        {
            StoreRow(t + (r * W), y + ((long)r * ldy), bias, accumulate, valid);
        }
    }

    private static void Tile2x64V512(float* x, int ldx, float* panel, int k, float* y, int ldy, float* bias, bool accumulate, int valid)
    {
        float* x0 = x;
        float* x1 = x + ldx;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        float* wp = panel;
        for (int i = 0; i < k; i++, wp += W)
        {
            var w0 = Vector512.Load(wp);
            var w1 = Vector512.Load(wp + 16);
            var w2 = Vector512.Load(wp + 32);
            var w3 = Vector512.Load(wp + 48);
            var a = Vector512.Create(x0[i]);
            c00 = Vector512.FusedMultiplyAdd(a, w0, c00);
            c01 = Vector512.FusedMultiplyAdd(a, w1, c01);
            c02 = Vector512.FusedMultiplyAdd(a, w2, c02);
            c03 = Vector512.FusedMultiplyAdd(a, w3, c03);
            a = Vector512.Create(x1[i]);
            c10 = Vector512.FusedMultiplyAdd(a, w0, c10);
            c11 = Vector512.FusedMultiplyAdd(a, w1, c11);
            c12 = Vector512.FusedMultiplyAdd(a, w2, c12);
            c13 = Vector512.FusedMultiplyAdd(a, w3, c13);
        }

        float* t = stackalloc float[2 * W];
        Spill(c00, c01, c02, c03, t);
        Spill(c10, c11, c12, c13, t + W);
        StoreRow(t, y, bias, accumulate, valid);
        StoreRow(t + W, y + ldy, bias, accumulate, valid);
    }

    private static void Tile1x64V512(float* x, float* panel, int k, float* y, float* bias, bool accumulate, int valid)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        float* wp = panel;
        for (int i = 0; i < k; i++, wp += W)
        {
            var a = Vector512.Create(x[i]);
            c0 = Vector512.FusedMultiplyAdd(a, Vector512.Load(wp), c0);
            c1 = Vector512.FusedMultiplyAdd(a, Vector512.Load(wp + 16), c1);
            c2 = Vector512.FusedMultiplyAdd(a, Vector512.Load(wp + 32), c2);
            c3 = Vector512.FusedMultiplyAdd(a, Vector512.Load(wp + 48), c3);
        }

        float* t = stackalloc float[W];
        Spill(c0, c1, c2, c3, t);
        StoreRow(t, y, bias, accumulate, valid);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spill(Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3, float* t)
    {
        c0.Store(t);
        c1.Store(t + 16);
        c2.Store(t + 32);
        c3.Store(t + 48);
    }

    /// <summary>y[j] = (acc[j] + bias[j]) (+ y[j] when accumulating) for the valid columns of one tile row.</summary>
    private static void StoreRow(float* acc, float* y, float* bias, bool accumulate, int valid)
    {
        if (valid == W && Vector512.IsHardwareAccelerated)
        {
            for (int j = 0; j < W; j += 16)
            {
                var c = Vector512.Load(acc + j);
                if (bias != null)
                {
                    c += Vector512.Load(bias + j);
                }

                if (accumulate)
                {
                    c = Vector512.Load(y + j) + c;
                }

                c.Store(y + j);
            }

            return;
        }

        StorePartial(acc, y, bias, accumulate, valid);
    }

    /// <summary>The scalar form of the store: the same two additions, lane by lane.</summary>
    private static void StorePartial(float* acc, float* y, float* bias, bool accumulate, int valid)
    {
        for (int j = 0; j < valid; j++)
        {
            float v = acc[j];
            if (bias != null)
            {
                v += bias[j];
            }

            y[j] = accumulate ? y[j] + v : v;
        }
    }

    private static void Tile1x64V256(float* x, float* panel, int k, float* y, float* bias, bool accumulate, int valid)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        float* wp = panel;
        for (int i = 0; i < k; i++, wp += W)
        {
            var a = Vector256.Create(x[i]);
            c0 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp), c0);
            c1 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp + 8), c1);
            c2 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp + 16), c2);
            c3 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp + 24), c3);
            c4 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp + 32), c4);
            c5 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp + 40), c5);
            c6 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp + 48), c6);
            c7 = Vector256.FusedMultiplyAdd(a, Vector256.Load(wp + 56), c7);
        }

        float* tmp = stackalloc float[W];
        c0.Store(tmp);
        c1.Store(tmp + 8);
        c2.Store(tmp + 16);
        c3.Store(tmp + 24);
        c4.Store(tmp + 32);
        c5.Store(tmp + 40);
        c6.Store(tmp + 48);
        c7.Store(tmp + 56);
        StorePartial(tmp, y, bias, accumulate, valid);
    }

    private static void Tile1x64Scalar(float* x, float* panel, int k, float* y, float* bias, bool accumulate, int valid)
    {
        float* tmp = stackalloc float[W];
        for (int j = 0; j < valid; j++)
        {
            float acc = 0;
            for (int i = 0; i < k; i++)
            {
                acc = MathF.FusedMultiplyAdd(x[i], panel[((long)i * W) + j], acc);
            }

            tmp[j] = acc;
        }

        StorePartial(tmp, y, bias, accumulate, valid);
    }
}
