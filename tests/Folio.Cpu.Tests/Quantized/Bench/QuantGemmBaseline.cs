using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Folio.Models;

using Folio.Cpu.Quantized;

namespace Folio.Cpu.Tests.Quantized.Bench;

/// <summary>
/// The int8 kernel as it was before the register-tile rewrite (commit 6f73f4d), frozen here so that
/// <see cref="QuantKernelBench"/> can time it beside the current <see cref="QuantGemm"/> in one process
/// and check that both give the same bits. Not used by any test of correctness.
/// </summary>
[SkipLocalsInit]
internal static unsafe class QuantGemmBaseline
{
    private const int P = PanelFormat.Rows;

    /// <summary>Computes panels [panelStart, panelEnd) for all <paramref name="m"/> rows of already quantized activations.</summary>
    /// <param name="isa">which implementation to run; tests pin one to compare them, the runner leaves the best available.</param>
    public static void Run(QuantActivations activations, int m, QuantMatrix w, float* y, int ldy, bool accumulate, int panelStart, int panelEnd, QuantIsa isa = QuantIsa.Best)
    {
        for (int p = panelStart; p < panelEnd; p++)
        {
            var part = w.PartOf(p);
            var f = part.Format;
            int local = p - part.Panel0;
            int row0 = part.Row0 + (local * P);
            var job = new PanelJob
            {
                Format = f,
                Data = part.Data + (local * part.PanelBytes),
                SuperBlocks = w.K / f.SuperBlock,
                Activations = activations.View(f.SuperBlock, w.K),
                Y = y + row0,
                Ldy = ldy,
                Bias = w.Bias == null ? null : w.Bias + row0,
                Accumulate = accumulate,
                Valid = Math.Min(P, part.Rows - (local * P)),
            };
            if (isa == QuantIsa.Best && AvxVnni.IsSupported)
            {
                Dispatch<VnniDot>(job, m);
            }
            else if (isa != QuantIsa.Scalar && Avx2.IsSupported)
            {
                Dispatch<Avx2Dot>(job, m);
            }
            else
            {
                QuantGemmScalar.Panel(job, m);
            }
        }
    }

    private static void Dispatch<TDot>(in PanelJob job, int m)
        where TDot : struct, IDot
    {
        switch (job.Format.Codes)
        {
            case CodeKind.Signed8: Panel<Signed8Codes, TDot>(job, m); break;
            case CodeKind.Nibble: Panel<NibbleCodes, TDot>(job, m); break;
            case CodeKind.NibbleTable: Panel<NibbleTableCodes, TDot>(job, m); break;
            case CodeKind.Nibble1: Panel<Nibble1Codes, TDot>(job, m); break;
            case CodeKind.Nibble2: Panel<Nibble2Codes, TDot>(job, m); break;
            case CodeKind.Crumb: Panel<CrumbCodes, TDot>(job, m); break;
            case CodeKind.Crumb1: Panel<Crumb1Codes, TDot>(job, m); break;
            default: throw new InvalidOperationException($"unknown code kind {job.Format.Codes}");
        }
    }

    private static void Panel<TCodes, TDot>(in PanelJob job, int m)
        where TCodes : struct, ICodes
        where TDot : struct, IDot
    {
        int r = 0;
        for (; r + 4 <= m; r += 4)
        {
            Tile4<TCodes, TDot>(job, r);
        }

        for (; r < m; r++)
        {
            Tile1<TCodes, TDot>(job, r);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot<TCodes, TDot>(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x)
        where TCodes : struct, ICodes
        where TDot : struct, IDot
    {
        return TCodes.Kind is CodeKind.Signed8 or CodeKind.NibbleTable ? TDot.Signed(acc, TDot.PrepareSigned(w.AsSByte()), w.AsSByte(), x) : TDot.Unsigned(acc, w, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Broadcast(sbyte* x) => Vector256.Create(*(int*)x).AsSByte();

    /// <summary>The zero point the integer sums carry: the format's, plus the dot's bias for signed codes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Offset<TCodes, TDot>(PanelFormat f)
        where TCodes : struct, ICodes
        where TDot : struct, IDot
    {
        return f.Offset + (TCodes.Kind is CodeKind.Signed8 or CodeKind.NibbleTable ? TDot.SignedOffset : 0);
    }

    /// <summary>Σ q over group j (16 or 32 values) of a super-block, from the per-16 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GroupSum(int* sums, int j, int group) => group == 16 ? sums[j] : sums[2 * j] + sums[(2 * j) + 1];

    /// <summary>The group's integer scale and min for one unit (8 panel rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Scale, Vector256<int> Min) GroupScales(PanelFormat f, byte* rec, int j, int u)
    {
        byte* gs = PanelRecord.GroupScales(f, rec) + (j * P) + (u * 8);
        switch (f.Scales)
        {
            case ScaleKind.Groups:
                return (Avx2.ConvertToVector256Int32((sbyte*)gs), default);
            case ScaleKind.GroupsMin:
                byte* gm = PanelRecord.GroupMins(f, rec) + (j * P) + (u * 8);
                return (Avx2.ConvertToVector256Int32(gs), Avx2.ConvertToVector256Int32(gm));
            default:
                var b = Avx2.ConvertToVector256Int32(gs);
                return (b & Vector256.Create(0xF), Vector256.ShiftRightLogical(b, 4));
        }
    }

    private static void Tile1<TCodes, TDot>(in PanelJob job, int row)
        where TCodes : struct, ICodes
        where TDot : struct, IDot
    {
        var f = job.Format;
        var a = job.Activations;
        sbyte* qx = a.RowQ(row);
        float* dx = a.RowD(row);
        int* sums = a.RowSums(row);
        float* scaledSums = f.SuperBlock == 32 ? a.RowScaledSums(row) : null;
        int groups = f.SuperBlock / f.Group;
        int quadsPerGroup = f.Group / 16;
        int offset = Offset<TCodes, TDot>(f);
        bool hasMin = f.Scales is ScaleKind.BlockMin or ScaleKind.GroupsMin or ScaleKind.GroupsMinPacked;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int s = 0; s < job.SuperBlocks; s++)
        {
            byte* rec = job.Data + ((long)s * f.RecordBytes);
            byte* pb = rec + f.PlaneBOffset;
            sbyte* xs = qx + (s * f.SuperBlock);
            int* ss = sums + (s * f.SuperBlock / 16);
            var is0 = Vector256<int>.Zero;
            var is1 = Vector256<int>.Zero;
            var im0 = Vector256<int>.Zero;
            var im1 = Vector256<int>.Zero;
            for (int j = 0; j < groups; j++)
            {
                // Two accumulators per unit (even and odd groups) keep four dot chains in flight.
                var s0a = Vector256<int>.Zero;
                var s0b = Vector256<int>.Zero;
                var s1a = Vector256<int>.Zero;
                var s1b = Vector256<int>.Zero;
                for (int qd = j * quadsPerGroup; qd < (j + 1) * quadsPerGroup; qd++)
                {
                    sbyte* xq = xs + (qd * 16);
                    var x = Broadcast(xq);
                    s0a = Dot<TCodes, TDot>(s0a, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 0, 0), x);
                    s1a = Dot<TCodes, TDot>(s1a, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 0, 1), x);
                    x = Broadcast(xq + 4);
                    s0b = Dot<TCodes, TDot>(s0b, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 1, 0), x);
                    s1b = Dot<TCodes, TDot>(s1b, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 1, 1), x);
                    x = Broadcast(xq + 8);
                    s0a = Dot<TCodes, TDot>(s0a, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 2, 0), x);
                    s1a = Dot<TCodes, TDot>(s1a, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 2, 1), x);
                    x = Broadcast(xq + 12);
                    s0b = Dot<TCodes, TDot>(s0b, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 3, 0), x);
                    s1b = Dot<TCodes, TDot>(s1b, Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), 3, 1), x);
                }

                var t0 = s0a + s0b;
                var t1 = s1a + s1b;
                int xsum = GroupSum(ss, j, f.Group);
                if (offset != 0)
                {
                    var o = Vector256.Create(offset * xsum);
                    t0 -= o;
                    t1 -= o;
                }

                if (!f.HasGroups)
                {
                    var dxv = Vector256.Create(dx[s]);
                    ushort* d16 = PanelRecord.D(f, rec);
                    var c0 = Vector256.ConvertToSingle(t0) * (CodeDecoding.Halves(d16) * dxv);
                    var c1 = Vector256.ConvertToSingle(t1) * (CodeDecoding.Halves(d16 + 8) * dxv);
                    if (hasMin)
                    {
                        var sv = Vector256.Create(scaledSums[s]);
                        ushort* m16 = PanelRecord.M(f, rec);
                        c0 += CodeDecoding.Halves(m16) * sv;
                        c1 += CodeDecoding.Halves(m16 + 8) * sv;
                    }

                    acc0 += c0;
                    acc1 += c1;
                    continue;
                }

                var (sc0, mn0) = GroupScales(f, rec, j, 0);
                var (sc1, mn1) = GroupScales(f, rec, j, 1);
                is0 += t0 * sc0;
                is1 += t1 * sc1;
                if (hasMin)
                {
                    var xv = Vector256.Create(xsum);
                    im0 += mn0 * xv;
                    im1 += mn1 * xv;
                }
            }

            if (f.HasGroups)
            {
                var dxv = Vector256.Create(dx[s]);
                ushort* d16 = PanelRecord.D(f, rec);
                var c0 = Vector256.ConvertToSingle(is0) * (CodeDecoding.Halves(d16) * dxv);
                var c1 = Vector256.ConvertToSingle(is1) * (CodeDecoding.Halves(d16 + 8) * dxv);
                if (hasMin)
                {
                    ushort* m16 = PanelRecord.M(f, rec);
                    c0 -= Vector256.ConvertToSingle(im0) * (CodeDecoding.Halves(m16) * dxv);
                    c1 -= Vector256.ConvertToSingle(im1) * (CodeDecoding.Halves(m16 + 8) * dxv);
                }

                acc0 += c0;
                acc1 += c1;
            }
        }

        float* t = stackalloc float[P];
        acc0.Store(t);
        acc1.Store(t + 8);
        StoreScalar(t, job.Y + ((long)row * job.Ldy), job.Bias, job.Accumulate, job.Valid);
    }

    private static void Tile4<TCodes, TDot>(in PanelJob job, int row)
        where TCodes : struct, ICodes
        where TDot : struct, IDot
    {
        var f = job.Format;
        var a = job.Activations;
        sbyte* q0 = a.RowQ(row);
        sbyte* q1 = a.RowQ(row + 1);
        sbyte* q2 = a.RowQ(row + 2);
        sbyte* q3 = a.RowQ(row + 3);

        // Row pointers once per tile: the accessors divide by the block size.
        float** dx = stackalloc float*[4];
        int** sums = stackalloc int*[4];
        float** scaled = stackalloc float*[4];
        for (int r = 0; r < 4; r++)
        {
            dx[r] = a.RowD(row + r);
            sums[r] = a.RowSums(row + r);
            scaled[r] = f.SuperBlock == 32 ? a.RowScaledSums(row + r) : null;
        }

        int groups = f.SuperBlock / f.Group;
        int quadsPerGroup = f.Group / 16;
        int offset = Offset<TCodes, TDot>(f);
        bool hasMin = f.Scales is ScaleKind.BlockMin or ScaleKind.GroupsMin or ScaleKind.GroupsMinPacked;

        // Per row and unit: the float accumulators and a super-block's integer sums, in memory
        // (the dot loop needs the registers).
        float* acc = stackalloc float[4 * P];
        int* isum = stackalloc int[4 * P];
        int* imin = stackalloc int[4 * P];
        new Span<float>(acc, 4 * P).Clear();
        for (int s = 0; s < job.SuperBlocks; s++)
        {
            byte* rec = job.Data + ((long)s * f.RecordBytes);
            byte* pb = rec + f.PlaneBOffset;
            int o = s * f.SuperBlock;
            if (f.HasGroups)
            {
                new Span<int>(isum, 4 * P).Clear();
                new Span<int>(imin, 4 * P).Clear();
            }

            for (int j = 0; j < groups; j++)
            {
                var s00 = Vector256<int>.Zero;
                var s01 = Vector256<int>.Zero;
                var s10 = Vector256<int>.Zero;
                var s11 = Vector256<int>.Zero;
                var s20 = Vector256<int>.Zero;
                var s21 = Vector256<int>.Zero;
                var s30 = Vector256<int>.Zero;
                var s31 = Vector256<int>.Zero;
                for (int qd = j * quadsPerGroup; qd < (j + 1) * quadsPerGroup; qd++)
                {
                    int k = o + (qd * 16);
                    Quad4<TCodes, TDot>(rec, pb, qd, 0, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                    Quad4<TCodes, TDot>(rec, pb, qd, 1, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                    Quad4<TCodes, TDot>(rec, pb, qd, 2, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                    Quad4<TCodes, TDot>(rec, pb, qd, 3, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                }

                int g16 = o / 16;
                var scales = f.HasGroups ? GroupScalesBoth(f, rec, j) : default;
                Combine(f, rec, scales, s00, s01, offset, GroupSum(sums[0] + g16, j, f.Group), hasMin, dx[0][s], f.SuperBlock == 32 ? scaled[0][s] : 0, acc, isum, imin);
                Combine(f, rec, scales, s10, s11, offset, GroupSum(sums[1] + g16, j, f.Group), hasMin, dx[1][s], f.SuperBlock == 32 ? scaled[1][s] : 0, acc + P, isum + P, imin + P);
                Combine(f, rec, scales, s20, s21, offset, GroupSum(sums[2] + g16, j, f.Group), hasMin, dx[2][s], f.SuperBlock == 32 ? scaled[2][s] : 0, acc + (2 * P), isum + (2 * P), imin + (2 * P));
                Combine(f, rec, scales, s30, s31, offset, GroupSum(sums[3] + g16, j, f.Group), hasMin, dx[3][s], f.SuperBlock == 32 ? scaled[3][s] : 0, acc + (3 * P), isum + (3 * P), imin + (3 * P));
            }

            if (f.HasGroups)
            {
                ushort* d16 = PanelRecord.D(f, rec);
                ushort* m16 = PanelRecord.M(f, rec);
                for (int r = 0; r < 4; r++)
                {
                    var dxv = Vector256.Create(dx[r][s]);
                    for (int u = 0; u < 2; u++)
                    {
                        float* ar = acc + (r * P) + (u * 8);
                        var c = Vector256.ConvertToSingle(Vector256.Load(isum + (r * P) + (u * 8))) * (CodeDecoding.Halves(d16 + (u * 8)) * dxv);
                        if (hasMin)
                        {
                            c -= Vector256.ConvertToSingle(Vector256.Load(imin + (r * P) + (u * 8))) * (CodeDecoding.Halves(m16 + (u * 8)) * dxv);
                        }

                        (Vector256.Load(ar) + c).Store(ar);
                    }
                }
            }
        }

        for (int r = 0; r < 4; r++)
        {
            StoreScalar(acc + (r * P), job.Y + ((long)(row + r) * job.Ldy), job.Bias, job.Accumulate, job.Valid);
        }
    }

    /// <summary>One group of 4 k (<paramref name="t"/> of the quad, a constant at each call) for 4 rows and both units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad4<TCodes, TDot>(byte* rec, byte* pb, int qd, int t, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3, ref Vector256<int> s00, ref Vector256<int> s01, ref Vector256<int> s10, ref Vector256<int> s11, ref Vector256<int> s20, ref Vector256<int> s21, ref Vector256<int> s30, ref Vector256<int> s31)
        where TCodes : struct, ICodes
        where TDot : struct, IDot
    {
        var w0 = Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), t, 0);
        var w1 = Unit<TCodes>(QuadA<TCodes>(rec, qd), QuadB<TCodes>(pb, qd), t, 1);
        var x = Broadcast(x0 + (4 * t));
        s00 = Dot<TCodes, TDot>(s00, w0, x);
        s01 = Dot<TCodes, TDot>(s01, w1, x);
        x = Broadcast(x1 + (4 * t));
        s10 = Dot<TCodes, TDot>(s10, w0, x);
        s11 = Dot<TCodes, TDot>(s11, w1, x);
        x = Broadcast(x2 + (4 * t));
        s20 = Dot<TCodes, TDot>(s20, w0, x);
        s21 = Dot<TCodes, TDot>(s21, w1, x);
        x = Broadcast(x3 + (4 * t));
        s30 = Dot<TCodes, TDot>(s30, w0, x);
        s31 = Dot<TCodes, TDot>(s31, w1, x);
    }

    /// <summary>A group's integer scales and mins for both units, read once for all the rows of a tile.</summary>
    private readonly record struct GroupScaleVectors(Vector256<int> Scale0, Vector256<int> Min0, Vector256<int> Scale1, Vector256<int> Min1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static GroupScaleVectors GroupScalesBoth(PanelFormat f, byte* rec, int j)
    {
        var (sc0, mn0) = GroupScales(f, rec, j, 0);
        var (sc1, mn1) = GroupScales(f, rec, j, 1);
        return new GroupScaleVectors(sc0, mn0, sc1, mn1);
    }

    /// <summary>Folds one group's integer sums of one row into its accumulators (block kinds) or super-block sums (group kinds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Combine(PanelFormat f, byte* rec, GroupScaleVectors g, Vector256<int> t0, Vector256<int> t1, int offset, int xsum, bool hasMin, float dx, float scaledSum, float* acc, int* isum, int* imin)
    {
        if (offset != 0)
        {
            var o = Vector256.Create(offset * xsum);
            t0 -= o;
            t1 -= o;
        }

        if (!f.HasGroups)
        {
            var dxv = Vector256.Create(dx);
            ushort* d16 = PanelRecord.D(f, rec);
            var c0 = Vector256.ConvertToSingle(t0) * (CodeDecoding.Halves(d16) * dxv);
            var c1 = Vector256.ConvertToSingle(t1) * (CodeDecoding.Halves(d16 + 8) * dxv);
            if (hasMin)
            {
                var sv = Vector256.Create(scaledSum);
                ushort* m16 = PanelRecord.M(f, rec);
                c0 += CodeDecoding.Halves(m16) * sv;
                c1 += CodeDecoding.Halves(m16 + 8) * sv;
            }

            (Vector256.Load(acc) + c0).Store(acc);
            (Vector256.Load(acc + 8) + c1).Store(acc + 8);
            return;
        }

        (Vector256.Load(isum) + (t0 * g.Scale0)).Store(isum);
        (Vector256.Load(isum + 8) + (t1 * g.Scale1)).Store(isum + 8);
        if (hasMin)
        {
            var xv = Vector256.Create(xsum);
            (Vector256.Load(imin) + (g.Min0 * xv)).Store(imin);
            (Vector256.Load(imin + 8) + (g.Min1 * xv)).Store(imin + 8);
        }
    }

    /// <summary>The store as it was at the frozen commit (scalar; QuantGemm.Store is vectorized since).</summary>
    private static void StoreScalar(float* acc, float* y, float* bias, bool accumulate, int valid)
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

    // CodeDecoding.QuadA, QuadB and Unit as they were when this copy was frozen: the kernel's own
    // have changed since, and the baseline keeps its code so that its speed stays put.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* QuadA<TCodes>(byte* rec, int quad)
        where TCodes : struct, ICodes => rec + (quad * TCodes.Kind switch
        {
            CodeKind.Signed8 => 256,
            CodeKind.Crumb or CodeKind.Crumb1 => 64,
            _ => 128,
        });

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* QuadB<TCodes>(byte* planeB, int quad)
        where TCodes : struct, ICodes => planeB + (quad * (TCodes.Kind == CodeKind.Nibble2 ? 64 : 32));

    private static readonly Vector256<sbyte> Iq4Levels = Vector256.Create(
        (sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
        -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Unit<TCodes>(byte* quadA, byte* quadB, int t, int u)
        where TCodes : struct, ICodes
    {
        if (TCodes.Kind == CodeKind.Signed8)
        {
            return Vector256.Load(quadA + (t * 64) + (u * 32));
        }

        if (TCodes.Kind is CodeKind.Crumb or CodeKind.Crumb1)
        {
            // Two-bit plane: 32 bytes per two groups, unit v = 2 (g % 2) + u in bits 2v, 2v + 1.
            var c = Vector256.Load(quadA + ((t >> 1) * 32)).AsUInt16();
            int v = (2 * (t & 1)) + u;
            var low = (Vector256.ShiftRightLogical(c, 2 * v).AsByte() & Vector256.Create((byte)0x03));
            if (TCodes.Kind == CodeKind.Crumb)
            {
                return low;
            }

            // One-bit plane: 32 bytes per four groups, unit bit 2t + u, moved to bit 2.
            var h = Vector256.Load(quadB).AsUInt16();
            int bit = (2 * t) + u;
            var high = bit <= 2 ? Vector256.ShiftLeft(h, 2 - bit) : Vector256.ShiftRightLogical(h, bit - 2);
            return low | (high.AsByte() & Vector256.Create((byte)0x04));
        }

        var n = Vector256.Load(quadA + (t * 32)).AsUInt16();
        var nibble = (u == 0 ? n : Vector256.ShiftRightLogical(n, 4)).AsByte() & Vector256.Create((byte)0x0F);
        if (TCodes.Kind == CodeKind.NibbleTable)
        {
            return Avx2.Shuffle(Iq4Levels, nibble.AsSByte()).AsByte();
        }

        if (TCodes.Kind == CodeKind.Nibble1)
        {
            var h = Vector256.Load(quadB).AsUInt16();
            int bit = (2 * t) + u;
            var high = bit <= 4 ? Vector256.ShiftLeft(h, 4 - bit) : Vector256.ShiftRightLogical(h, bit - 4);
            return nibble | (high.AsByte() & Vector256.Create((byte)0x10));
        }

        if (TCodes.Kind == CodeKind.Nibble2)
        {
            var h = Vector256.Load(quadB + ((t >> 1) * 32)).AsUInt16();
            int v = 2 * ((2 * (t & 1)) + u);
            var high = v <= 4 ? Vector256.ShiftLeft(h, 4 - v) : Vector256.ShiftRightLogical(h, v - 4);
            return nibble | (high.AsByte() & Vector256.Create((byte)0x30));
        }

        return nibble;
    }
}
