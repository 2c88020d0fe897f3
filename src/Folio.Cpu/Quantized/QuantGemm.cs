using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Folio.Models;

namespace Folio.Cpu.Quantized;

/// <summary>
/// y = x · Wᵀ (+ bias) (or y += ...) for a <see cref="QuantMatrix"/>, with x quantized per row and
/// block to int8 (<see cref="ActivationQuantizer"/>). What one output is, whatever computes it:
/// <list type="number">
/// <item>per group of the weight format (16 or 32 values), the exact integer S = Σ code · q;</item>
/// <item>T = S - offset · X, X = Σ q over the group (the format's zero point);</item>
/// <item>block kinds: per 32-value block c = float(T) · (d · dx) [+ m · s, s the activation block's scaled sum];
/// group kinds: per 256-value super-block IS = Σ_groups scale · T and IM = Σ_groups min · X (exact
/// integers), then c = float(IS) · (d · dx) [- float(IM) · (dmin · dx)];</item>
/// <item>acc = acc + c, blocks in order from acc = 0; then + bias, then y + that when accumulating.</item>
/// </list>
/// Each float step is one IEEE operation (no fused multiply-add), in this order, so the AVX-VNNI,
/// AVX2 and scalar forms agree to the bit, and a row's result never depends on the other rows of the
/// batch (row tiles of 4, 2 and 1 run the same steps) or on which thread computes which panel.
/// Each tile is compiled per format (<see cref="IFormat"/>), dot form and row count, so no branch on
/// the format is left in it.
/// </summary>
[SkipLocalsInit]
internal static unsafe class QuantGemm
{
    private const int P = PanelFormat.Rows;

    /// <summary>How far ahead of the record being computed the tiles prefetch: about a DRAM latency's worth of streaming.</summary>
    private const long PrefetchBytes = 4096;

    /// <summary>How many super-blocks' integer sums a tile keeps before finishing them (4 KiB of stack for 4 rows).</summary>
    private const int DeferredSuperBlocks = 16;

    /// <summary>Computes panels [panelStart, panelEnd) for all <paramref name="m"/> rows of already quantized activations.</summary>
    /// <param name="isa">which implementation to run; tests pin one to compare them, the runner leaves the best available.</param>
    public static void Run(QuantActivations activations, int m, QuantMatrix w, float* y, int ldy, bool accumulate, int panelStart, int panelEnd, QuantIsa isa = QuantIsa.Best)
    {
        if (panelStart < panelEnd)
        {
            PrefetchRangeStart(w, panelStart);
        }

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

    /// <summary>
    /// The first PrefetchBytes of a range's first panel: the tiles prefetch that far ahead of
    /// themselves, so without this a range would start on weights nothing asked for yet (a thread
    /// claims several ranges per matrix).
    /// </summary>
    private static void PrefetchRangeStart(QuantMatrix w, int panel)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        var part = w.PartOf(panel);
        byte* start = part.Data + ((panel - part.Panel0) * part.PanelBytes);
        long bytes = Math.Min(PrefetchBytes, part.PanelBytes);
        for (long l = 0; l < bytes; l += 64)
        {
            Sse.Prefetch0(start + l);
        }
    }

    private static void Dispatch<TDot>(in PanelJob job, int m)
        where TDot : struct, IDot
    {
        switch (job.Format.Type)
        {
            case DType.Q8_0: Panel<Q8_0Format, TDot>(job, m); break;
            case DType.Q4_0: Panel<Q4_0Format, TDot>(job, m); break;
            case DType.Q4_1: Panel<Q4_1Format, TDot>(job, m); break;
            case DType.Q5_0: Panel<Q5_0Format, TDot>(job, m); break;
            case DType.Q5_1: Panel<Q5_1Format, TDot>(job, m); break;
            case DType.IQ4_NL: Panel<Iq4NlFormat, TDot>(job, m); break;
            case DType.Q2_K: Panel<Q2KFormat, TDot>(job, m); break;
            case DType.Q3_K: Panel<Q3KFormat, TDot>(job, m); break;
            case DType.Q4_K: Panel<Q4KFormat, TDot>(job, m); break;
            case DType.Q5_K: Panel<Q5KFormat, TDot>(job, m); break;
            case DType.Q6_K: Panel<Q6KFormat, TDot>(job, m); break;
            case DType.IQ4_XS: Panel<Iq4XsFormat, TDot>(job, m); break;
            default: throw new InvalidOperationException($"no int8 kernel for {job.Format.Type}");
        }
    }

    /// <summary>Row tiles of 4, then one of 2, then one of 1: every row gets the same steps whatever tile holds it.</summary>
    private static void Panel<TF, TDot>(in PanelJob job, int m)
        where TF : struct, IFormat
        where TDot : struct, IDot
    {
        int r = 0;
        for (; r + 4 <= m; r += 4)
        {
            Tile<TF, TDot, FourRows>(job, r);
        }

        if (m - r >= 2)
        {
            Tile<TF, TDot, TwoRows>(job, r);
            r += 2;
        }

        if (r < m)
        {
            Tile<TF, TDot, OneRow>(job, r);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSigned<TF>()
        where TF : struct, IFormat => TF.Kind is CodeKind.Signed8 or CodeKind.NibbleTable;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HasGroups<TF>()
        where TF : struct, IFormat => TF.Scales is ScaleKind.Groups or ScaleKind.GroupsMin or ScaleKind.GroupsMinPacked;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HasMin<TF>()
        where TF : struct, IFormat => TF.Scales is ScaleKind.BlockMin or ScaleKind.GroupsMin or ScaleKind.GroupsMinPacked;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Broadcast(sbyte* x) => Vector256.Create(*(int*)x).AsSByte();

    /// <summary>How many lines each quad of k prefetches: as many as a record of <paramref name="recordBytes"/> has quads to spread them over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PrefetchLinesPerQuad(int recordBytes, int superBlock) => (recordBytes + (superBlock / 16 * 64) - 1) / (superBlock / 16 * 64);

    /// <summary>
    /// One quad's share of prefetching the record ahead, from <paramref name="p"/>: a constant number
    /// of lines per quad (as many as the record has quads to spread them over, so that the quads'
    /// shares together cover the record), with no loop of its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchQuad<TF>(byte* p)
        where TF : struct, IFormat
    {
        int lines = PrefetchLinesPerQuad(PanelFormat.LayoutOf<TF>().Bytes, TF.SuperBlock);
        if (!Sse.IsSupported)
        {
            return;
        }

        if (lines > 6)
        {
            throw new InvalidOperationException($"{lines} prefetch lines per quad; the unrolled form issues at most 6");
        }

        Sse.Prefetch0(p);
        if (lines > 1)
        {
            Sse.Prefetch0(p + 64);
        }

        if (lines > 2)
        {
            Sse.Prefetch0(p + 128);
        }

        if (lines > 3)
        {
            Sse.Prefetch0(p + 192);
        }

        if (lines > 4)
        {
            Sse.Prefetch0(p + 256);
        }

        if (lines > 5)
        {
            Sse.Prefetch0(p + 320);
        }
    }

    /// <summary>
    /// Whether the tile feeds VPDPBUSD whole bytes of a nibble plane instead of decoded nibbles: with
    /// a byte b = lo + 16·hi (lo: panel rows 0-7, hi: rows 8-15), unit 0 accumulates Σ b·x and unit 1
    /// Σ (b &amp; 0xF0)·x = 16·Σ hi·x, and <see cref="SplitNibbleSums"/> recovers both exact sums at the
    /// group's end. VNNI only: its products add into int32 lanes, where AVX2's VPMADDUBSW would
    /// saturate a pair of 255·127 in int16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool WholeNibbleBytes<TF, TDot>()
        where TF : struct, IFormat
        where TDot : struct, IDot => TF.Kind == CodeKind.Nibble && TDot.WidensToInt32;

    /// <summary>From (Σ b·x, 16·Σ hi·x) to (Σ lo·x, Σ hi·x): exact, the second is a multiple of 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SplitNibbleSums(ref Vector256<int> whole, ref Vector256<int> high16)
    {
        whole -= high16;
        high16 = Vector256.ShiftRightArithmetic(high16, 4);
    }

    /// <summary>Σ q over group j (16 or 32 values) of a super-block, from its per-16 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GroupSum<TF>(int* sums, int j)
        where TF : struct, IFormat => TF.Group == 16 ? sums[j] : sums[2 * j] + sums[(2 * j) + 1];

    /// <summary>
    /// offset · X over group j, the term a group's sums give back for a format's zero point; 0 without
    /// reading X when there is none (the formats with mins). <paramref name="offset"/> is a constant of
    /// each compiled tile, so the test folds away.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int OffsetSum<TF>(int offset, int* sums, int j)
        where TF : struct, IFormat => offset == 0 ? 0 : offset * GroupSum<TF>(sums, j);

    /// <summary>
    /// The zero point a format's integer sums S carry: its own offset (Q4_0's 8, Q3_K's 4, Q6_K's 32)
    /// plus, for signed codes, the dot form's (VNNI feeds them biased to unsigned). A block kind takes
    /// offset · X off each block's sums (<see cref="BlockRow"/>); a group kind once per super-block in
    /// <see cref="FinishSuperBlock"/>, as offset · Σ_groups scale · X, not once per group and row in
    /// the dot loop: IS = Σ scale · (S - offset · X) = Σ scale · S - offset · Σ scale · X, the same
    /// integer (int32 arithmetic wraps alike both ways).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ZeroPoint<TF, TDot>()
        where TF : struct, IFormat
        where TDot : struct, IDot => TF.Offset + (IsSigned<TF>() ? TDot.SignedOffset : 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot<TF, TDot>(Vector256<int> acc, Vector256<byte> prepared, Vector256<byte> w, Vector256<sbyte> x)
        where TF : struct, IFormat
        where TDot : struct, IDot
    {
        return IsSigned<TF>() ? TDot.Signed(acc, prepared, w.AsSByte(), x) : TDot.Unsigned(acc, w, x);
    }

    /// <summary>
    /// One tile: <typeparamref name="TR"/> activation rows (from <paramref name="row"/>) against the
    /// panel's 16 outputs. Each unit of codes is decoded once and used by every row; the integer dot
    /// sums live in registers (two per row, four chains for a single row); a super-block's group sums
    /// (k-quants) and the float accumulators live in a small stack block, touched once per group.
    /// </summary>
    private static void Tile<TF, TDot, TR>(in PanelJob job, int row)
        where TF : struct, IFormat
        where TDot : struct, IDot
        where TR : struct, IRowCount
    {
        var a = job.Activations;
        byte* data = job.Data;
        int superBlocks = job.SuperBlocks;

        // The format's layout, constants of this compiled tile.
        var layout = PanelFormat.LayoutOf<TF>();
        int recordBytes = layout.Bytes;
        int planeB = layout.PlaneB;
        int scalesAt = layout.Scales;
        int groupScalesAt = layout.GroupScales;
        int groupMinsAt = layout.GroupMins;
        int offset = ZeroPoint<TF, TDot>();
        int groups = TF.SuperBlock / TF.Group;
        int quadsPerGroup = TF.Group / 16;

        // Rows past the tile's count alias its first row and are never read.
        int row1 = TR.Count > 1 ? row + 1 : row;
        int row2 = TR.Count > 2 ? row + 2 : row;
        int row3 = TR.Count > 3 ? row + 3 : row;
        sbyte* q0 = a.RowQ(row), q1 = a.RowQ(row1), q2 = a.RowQ(row2), q3 = a.RowQ(row3);
        float* dx0 = a.RowD(row), dx1 = a.RowD(row1), dx2 = a.RowD(row2), dx3 = a.RowD(row3);
        int* xs0 = a.RowSums(row), xs1 = a.RowSums(row1), xs2 = a.RowSums(row2), xs3 = a.RowSums(row3);
        bool scaledSums = HasMin<TF>() && TF.SuperBlock == 32;
        float* ss0 = scaledSums ? a.RowScaledSums(row) : null;
        float* ss1 = scaledSums ? a.RowScaledSums(row1) : null;
        float* ss2 = scaledSums ? a.RowScaledSums(row2) : null;
        float* ss3 = scaledSums ? a.RowScaledSums(row3) : null;

        float* acc = stackalloc float[4 * P];
        // A group kind's super-blocks are finished (IM and the float step) in runs of DeferredSuperBlocks,
        // in order, from their integer sums kept here: one call per run instead of one per super-block.
        int* isums = stackalloc int[HasGroups<TF>() ? DeferredSuperBlocks * 4 * P : 1];
        int firstDeferred = 0;
        new Span<float>(acc, TR.Count * P).Clear();
        // Prefetch the record PrefetchBytes ahead (past the panel's end: the next panel, which a
        // thread's contiguous range computes next), so that the weights stream in while this one is
        // computed; a few lines per quad of k, spread through the dot loop rather than a loop of their own.
        long ahead = (PrefetchBytes + recordBytes - 1) / recordBytes * recordBytes;
        int prefetchStep = PrefetchLinesPerQuad(recordBytes, TF.SuperBlock) * 64;
        for (int s = 0; s < superBlocks; s++)
        {
            byte* rec = data + (s * recordBytes);

            // The dot loop walks its codes, prefetch line and activations with pointers that step by
            // constants: indices recomputed from the quad (multiplies, sign extensions) had been as
            // many instructions as the vector work, and the tile is bound by instructions, not dots.
            byte* qa = rec;
            byte* qb = rec + planeB;
            byte* pf = rec + ahead;
            int k0 = s * TF.SuperBlock;
            nint k = k0;
            int g16 = k0 / 16;
            int* isum = isums + ((s - firstDeferred) * 4 * P);
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
                for (int i = 0; i < quadsPerGroup; i++)
                {
                    PrefetchQuad<TF>(pf);
                    Step<TF, TDot, TR>(qa, qb, 0, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                    Step<TF, TDot, TR>(qa, qb, 1, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                    Step<TF, TDot, TR>(qa, qb, 2, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                    Step<TF, TDot, TR>(qa, qb, 3, q0 + k, q1 + k, q2 + k, q3 + k, ref s00, ref s01, ref s10, ref s11, ref s20, ref s21, ref s30, ref s31);
                    qa += CodeDecoding.QuadABytes<TF>();
                    qb += CodeDecoding.QuadBBytes<TF>();
                    pf += prefetchStep;
                    k += 16;
                }

                if (TR.Count == 1)
                {
                    // A single row ran two chains per unit (even and odd groups of 4): integer sums, any order.
                    s00 += s10;
                    s01 += s11;
                }

                if (WholeNibbleBytes<TF, TDot>())
                {
                    SplitNibbleSums(ref s00, ref s01);
                    if (TR.Count > 1)
                    {
                        SplitNibbleSums(ref s10, ref s11);
                    }

                    if (TR.Count > 2)
                    {
                        SplitNibbleSums(ref s20, ref s21);
                        SplitNibbleSums(ref s30, ref s31);
                    }
                }

                if (!HasGroups<TF>())
                {
                    ushort* d16 = (ushort*)(rec + scalesAt);
                    var dh0 = CodeDecoding.Halves(d16);
                    var dh1 = CodeDecoding.Halves(d16 + 8);
                    var mh0 = HasMin<TF>() ? CodeDecoding.Halves(d16 + P) : default;
                    var mh1 = HasMin<TF>() ? CodeDecoding.Halves(d16 + P + 8) : default;
                    BlockRow<TF>(s00, s01, OffsetSum<TF>(offset, xs0 + g16, 0), dx0[s], scaledSums ? ss0[s] : 0, dh0, dh1, mh0, mh1, acc);
                    if (TR.Count > 1)
                    {
                        BlockRow<TF>(s10, s11, OffsetSum<TF>(offset, xs1 + g16, 0), dx1[s], scaledSums ? ss1[s] : 0, dh0, dh1, mh0, mh1, acc + P);
                    }

                    if (TR.Count > 2)
                    {
                        BlockRow<TF>(s20, s21, OffsetSum<TF>(offset, xs2 + g16, 0), dx2[s], scaledSums ? ss2[s] : 0, dh0, dh1, mh0, mh1, acc + (2 * P));
                        BlockRow<TF>(s30, s31, OffsetSum<TF>(offset, xs3 + g16, 0), dx3[s], scaledSums ? ss3[s] : 0, dh0, dh1, mh0, mh1, acc + (3 * P));
                    }

                    continue;
                }

                byte* gs = rec + groupScalesAt + (j * P);
                var sc0 = GroupScale<TF>(gs);
                var sc1 = GroupScale<TF>(gs + 8);
                bool first = j == 0;
                GroupRow(first, s00, s01, sc0, sc1, isum);
                if (TR.Count > 1)
                {
                    GroupRow(first, s10, s11, sc0, sc1, isum + P);
                }

                if (TR.Count > 2)
                {
                    GroupRow(first, s20, s21, sc0, sc1, isum + (2 * P));
                    GroupRow(first, s30, s31, sc0, sc1, isum + (3 * P));
                }
            }

            if (HasGroups<TF>() && (s + 1 - firstDeferred == DeferredSuperBlocks || s + 1 == superBlocks))
            {
                FinishSuperBlocks<TF, TDot, TR>(data, firstDeferred, s + 1, dx0, dx1, dx2, dx3, a, row, isums, acc);
                firstDeferred = s + 1;
            }
        }

        StoreRows<TR>(acc, job, row);
    }

    private static void StoreRows<TR>(float* acc, in PanelJob job, int row)
        where TR : struct, IRowCount
    {
        for (int r = 0; r < TR.Count; r++)
        {
            Store(acc + (r * P), job.Y + ((long)(row + r) * job.Ldy), job.Bias, job.Accumulate, job.Valid);
        }
    }

    /// <summary>
    /// Super-blocks [<paramref name="first"/>, <paramref name="end"/>) of a group kind's panel, finished
    /// in order: their integer sums IS are in <paramref name="isums"/> (4 rows of 16 per super-block).
    /// Kept out of <see cref="Tile"/> so that the JIT's inlining budget goes to the dot loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FinishSuperBlocks<TF, TDot, TR>(byte* data, int first, int end, float* dx0, float* dx1, float* dx2, float* dx3, in ActivationRows a, int row, int* isums, float* acc)
        where TF : struct, IFormat
        where TDot : struct, IDot
        where TR : struct, IRowCount
    {
        var layout = PanelFormat.LayoutOf<TF>();
        int pairsPerSuperBlock = TF.SuperBlock / TF.Group / 2;
        int* xp0 = a.RowGroupPairs(row, TF.Group);
        int* xp1 = TR.Count > 1 ? a.RowGroupPairs(row + 1, TF.Group) : xp0;
        int* xp2 = TR.Count > 2 ? a.RowGroupPairs(row + 2, TF.Group) : xp0;
        int* xp3 = TR.Count > 3 ? a.RowGroupPairs(row + 3, TF.Group) : xp0;
        for (int s = first; s < end; s++)
        {
            byte* rec = data + ((long)s * layout.Bytes);
            int pair = s * pairsPerSuperBlock;
            FinishSuperBlock<TF, TDot, TR>(rec + layout.Scales, rec + layout.GroupScales, rec + layout.GroupMins, dx0[s], dx1[s], dx2[s], dx3[s], xp0 + pair, xp1 + pair, xp2 + pair, xp3 + pair, isums + ((s - first) * 4 * P), acc);
        }
    }

    /// <summary>
    /// A group kind's super-block end for every row of a tile: IM = Σ_groups min · X (no codes needed:
    /// one pass over the groups, the rows' sums in registers), then the float step into acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishSuperBlock<TF, TDot, TR>(byte* scales, byte* groupScales, byte* groupMins, float dx0, float dx1, float dx2, float dx3, int* xp0, int* xp1, int* xp2, int* xp3, int* isum, float* acc)
        where TF : struct, IFormat
        where TDot : struct, IDot
        where TR : struct, IRowCount
    {
        int groups = TF.SuperBlock / TF.Group;
        var im00 = Vector256<int>.Zero;
        var im01 = Vector256<int>.Zero;
        var im10 = Vector256<int>.Zero;
        var im11 = Vector256<int>.Zero;
        var im20 = Vector256<int>.Zero;
        var im21 = Vector256<int>.Zero;
        var im30 = Vector256<int>.Zero;
        var im31 = Vector256<int>.Zero;
        if (HasMin<TF>())
        {
            // Two groups per step: per row, min_j · X_j + min_j+1 · X_j+1 as one int16 pair product
            // (mins below 64, |X| at most 32 · 127), exact as the int32 products were.
            for (int j = 0; j < groups; j += 2)
            {
                var (mn0, mn1) = GroupMinPairs<TF>(groupScales + (j * P), groupMins + (j * P));
                AddPairProducts<TDot, TR>(mn0, mn1, xp0, xp1, xp2, xp3, j, ref im00, ref im01, ref im10, ref im11, ref im20, ref im21, ref im30, ref im31);
            }
        }

        if (ZeroPoint<TF, TDot>() != 0)
        {
            SubtractOffsetTerms<TF, TDot, TR>(groupScales, xp0, xp1, xp2, xp3, isum);
        }

        ushort* d16 = (ushort*)scales;
        var dh0 = CodeDecoding.Halves(d16);
        var dh1 = CodeDecoding.Halves(d16 + 8);
        var mh0 = HasMin<TF>() ? CodeDecoding.Halves(d16 + P) : default;
        var mh1 = HasMin<TF>() ? CodeDecoding.Halves(d16 + P + 8) : default;
        SuperBlockRow<TF>(isum, im00, im01, dx0, dh0, dh1, mh0, mh1, acc);
        if (TR.Count > 1)
        {
            SuperBlockRow<TF>(isum + P, im10, im11, dx1, dh0, dh1, mh0, mh1, acc + P);
        }

        if (TR.Count > 2)
        {
            SuperBlockRow<TF>(isum + (2 * P), im20, im21, dx2, dh0, dh1, mh0, mh1, acc + (2 * P));
            SuperBlockRow<TF>(isum + (3 * P), im30, im31, dx3, dh0, dh1, mh0, mh1, acc + (3 * P));
        }
    }

    /// <summary>
    /// For every row of a tile, two groups' coefficients (int16 pairs for the panel's rows 0-7 and
    /// 8-15: the mins, or the scales) times the row's X of groups j and j + 1, added into the row's
    /// two accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddPairProducts<TDot, TR>(Vector256<short> c0, Vector256<short> c1, int* xp0, int* xp1, int* xp2, int* xp3, int j, ref Vector256<int> a00, ref Vector256<int> a01, ref Vector256<int> a10, ref Vector256<int> a11, ref Vector256<int> a20, ref Vector256<int> a21, ref Vector256<int> a30, ref Vector256<int> a31)
        where TDot : struct, IDot
        where TR : struct, IRowCount
    {
        var x = GroupSumPair(xp0, j);
        a00 = TDot.WordPairs(a00, c0, x);
        a01 = TDot.WordPairs(a01, c1, x);
        if (TR.Count > 1)
        {
            x = GroupSumPair(xp1, j);
            a10 = TDot.WordPairs(a10, c0, x);
            a11 = TDot.WordPairs(a11, c1, x);
        }

        if (TR.Count > 2)
        {
            x = GroupSumPair(xp2, j);
            a20 = TDot.WordPairs(a20, c0, x);
            a21 = TDot.WordPairs(a21, c1, x);
            x = GroupSumPair(xp3, j);
            a30 = TDot.WordPairs(a30, c0, x);
            a31 = TDot.WordPairs(a31, c1, x);
        }
    }

    /// <summary>
    /// IS -= offset · Σ_groups scale · X for every row of a tile (see <see cref="ZeroPoint"/>): two
    /// groups per step like the mins, scale_j · X_j + scale_j+1 · X_j+1 as one int16 pair product
    /// (|scale| at most 128, |X| at most 32 · 127).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SubtractOffsetTerms<TF, TDot, TR>(byte* groupScales, int* xp0, int* xp1, int* xp2, int* xp3, int* isum)
        where TF : struct, IFormat
        where TDot : struct, IDot
        where TR : struct, IRowCount
    {
        int groups = TF.SuperBlock / TF.Group;
        var io00 = Vector256<int>.Zero;
        var io01 = Vector256<int>.Zero;
        var io10 = Vector256<int>.Zero;
        var io11 = Vector256<int>.Zero;
        var io20 = Vector256<int>.Zero;
        var io21 = Vector256<int>.Zero;
        var io30 = Vector256<int>.Zero;
        var io31 = Vector256<int>.Zero;
        for (int j = 0; j < groups; j += 2)
        {
            var (sc0, sc1) = GroupScalePairs(groupScales + (j * P));
            AddPairProducts<TDot, TR>(sc0, sc1, xp0, xp1, xp2, xp3, j, ref io00, ref io01, ref io10, ref io11, ref io20, ref io21, ref io30, ref io31);
        }

        var o = Vector256.Create(ZeroPoint<TF, TDot>());
        SubtractTimes(isum, io00, io01, o);
        if (TR.Count > 1)
        {
            SubtractTimes(isum + P, io10, io11, o);
        }

        if (TR.Count > 2)
        {
            SubtractTimes(isum + (2 * P), io20, io21, o);
            SubtractTimes(isum + (3 * P), io30, io31, o);
        }
    }

    /// <summary>One row's 16 sums: row -= (t0, t1) · o, int32 wrapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SubtractTimes(int* row, Vector256<int> t0, Vector256<int> t1, Vector256<int> o)
    {
        (Vector256.Load(row) - (t0 * o)).Store(row);
        (Vector256.Load(row + 8) - (t1 * o)).Store(row + 8);
    }

    /// <summary>
    /// One group of 4 k (<paramref name="t"/> of the quad, a constant at each call): both units decoded
    /// once, then every row of the tile. A single row alternates two chains per unit by <paramref name="t"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TF, TDot, TR>(byte* qa, byte* qb, int t, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3, ref Vector256<int> s00, ref Vector256<int> s01, ref Vector256<int> s10, ref Vector256<int> s11, ref Vector256<int> s20, ref Vector256<int> s21, ref Vector256<int> s30, ref Vector256<int> s31)
        where TF : struct, IFormat
        where TDot : struct, IDot
        where TR : struct, IRowCount
    {
        Vector256<byte> w0, w1;
        if (WholeNibbleBytes<TF, TDot>())
        {
            // Both nibbles of a byte at once (see WholeNibbleBytes): one mask per 64 codes, not three ops.
            var v = Vector256.Load(qa + (t * 32));
            w0 = v;
            w1 = v & Vector256.Create((byte)0xF0);
        }
        else
        {
            w0 = CodeDecoding.Unit<TF>(qa, qb, t, 0);
            w1 = CodeDecoding.Unit<TF>(qa, qb, t, 1);
        }

        var p0 = IsSigned<TF>() ? TDot.PrepareSigned(w0.AsSByte()) : w0;
        var p1 = IsSigned<TF>() ? TDot.PrepareSigned(w1.AsSByte()) : w1;
        int o = 4 * t;
        var x = Broadcast(x0 + o);
        if (TR.Count == 1 && (t & 1) == 1)
        {
            s10 = Dot<TF, TDot>(s10, p0, w0, x);
            s11 = Dot<TF, TDot>(s11, p1, w1, x);
            return;
        }

        s00 = Dot<TF, TDot>(s00, p0, w0, x);
        s01 = Dot<TF, TDot>(s01, p1, w1, x);
        if (TR.Count > 1)
        {
            x = Broadcast(x1 + o);
            s10 = Dot<TF, TDot>(s10, p0, w0, x);
            s11 = Dot<TF, TDot>(s11, p1, w1, x);
        }

        if (TR.Count > 2)
        {
            x = Broadcast(x2 + o);
            s20 = Dot<TF, TDot>(s20, p0, w0, x);
            s21 = Dot<TF, TDot>(s21, p1, w1, x);
            x = Broadcast(x3 + o);
            s30 = Dot<TF, TDot>(s30, p0, w0, x);
            s31 = Dot<TF, TDot>(s31, p1, w1, x);
        }
    }

    /// <summary>A block kind's record for one row: c = float(S - offset·X) · (d · dx) [+ m · s], acc += c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockRow<TF>(Vector256<int> t0, Vector256<int> t1, int offsetSum, float dx, float scaledSum, Vector256<float> dh0, Vector256<float> dh1, Vector256<float> mh0, Vector256<float> mh1, float* acc)
        where TF : struct, IFormat
    {
        var o = Vector256.Create(offsetSum);
        t0 -= o;
        t1 -= o;
        var dxv = Vector256.Create(dx);
        var c0 = Vector256.ConvertToSingle(t0) * (dh0 * dxv);
        var c1 = Vector256.ConvertToSingle(t1) * (dh1 * dxv);
        if (HasMin<TF>())
        {
            var sv = Vector256.Create(scaledSum);
            c0 += mh0 * sv;
            c1 += mh1 * sv;
        }

        (Vector256.Load(acc) + c0).Store(acc);
        (Vector256.Load(acc + 8) + c1).Store(acc + 8);
    }

    /// <summary>A group kind's group for one row: IS += scale · S, the super-block's sums starting at the first group (the zero point's term comes off in <see cref="FinishSuperBlock"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GroupRow(bool first, Vector256<int> t0, Vector256<int> t1, Vector256<int> sc0, Vector256<int> sc1, int* isum)
    {
        var a0 = t0 * sc0;
        var a1 = t1 * sc1;
        if (!first)
        {
            a0 += Vector256.Load(isum);
            a1 += Vector256.Load(isum + 8);
        }

        a0.Store(isum);
        a1.Store(isum + 8);
    }

    /// <summary>A group kind's super-block for one row: c = float(IS) · (d · dx) [- float(IM) · (dmin · dx)], acc += c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SuperBlockRow<TF>(int* isum, Vector256<int> im0, Vector256<int> im1, float dx, Vector256<float> dh0, Vector256<float> dh1, Vector256<float> mh0, Vector256<float> mh1, float* acc)
        where TF : struct, IFormat
    {
        var dxv = Vector256.Create(dx);
        var c0 = Vector256.ConvertToSingle(Vector256.Load(isum)) * (dh0 * dxv);
        var c1 = Vector256.ConvertToSingle(Vector256.Load(isum + 8)) * (dh1 * dxv);
        if (HasMin<TF>())
        {
            c0 -= Vector256.ConvertToSingle(im0) * (mh0 * dxv);
            c1 -= Vector256.ConvertToSingle(im1) * (mh1 * dxv);
        }

        (Vector256.Load(acc) + c0).Store(acc);
        (Vector256.Load(acc + 8) + c1).Store(acc + 8);
    }

    /// <summary>The integer scales of one group for 8 panel rows, from its scale bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> GroupScale<TF>(byte* gs)
        where TF : struct, IFormat => TF.Scales switch
    {
        ScaleKind.Groups => Avx2.ConvertToVector256Int32((sbyte*)gs),
        ScaleKind.GroupsMin => Avx2.ConvertToVector256Int32(gs),
        _ => Avx2.ConvertToVector256Int32(gs) & Vector256.Create(0xF),
    };

    /// <summary>
    /// The integer mins of groups j and j + 1 for the panel's rows 0-7 and 8-15, as int16 pairs (group
    /// j's min, then group j + 1's, per row): their own bytes, or the high nibbles of the scale bytes (packed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short> Rows0To7, Vector256<short> Rows8To15) GroupMinPairs<TF>(byte* gs, byte* gm)
        where TF : struct, IFormat
    {
        byte* src = TF.Scales == ScaleKind.GroupsMin ? gm : gs;
        var a = Vector128.Load(src);
        var b = Vector128.Load(src + P);
        if (TF.Scales == ScaleKind.GroupsMinPacked)
        {
            a = Vector128.ShiftRightLogical(a.AsUInt16(), 4).AsByte() & Vector128.Create((byte)0x0F);
            b = Vector128.ShiftRightLogical(b.AsUInt16(), 4).AsByte() & Vector128.Create((byte)0x0F);
        }

        return RowPairs(a, b, signed: false);
    }

    /// <summary>
    /// The signed scales of groups j and j + 1 (the kind without mins, <paramref name="gs"/> at group j's
    /// scale bytes) for the panel's rows 0-7 and 8-15, as int16 pairs like <see cref="GroupMinPairs"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short> Rows0To7, Vector256<short> Rows8To15) GroupScalePairs(byte* gs) =>
        RowPairs(Vector128.Load(gs), Vector128.Load(gs + P), signed: true);

    /// <summary>
    /// Two groups' bytes for the panel's 16 rows (<paramref name="a"/>: group j, <paramref name="b"/>:
    /// group j + 1), interleaved per row and widened to int16 pairs for rows 0-7 and rows 8-15.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short> Rows0To7, Vector256<short> Rows8To15) RowPairs(Vector128<byte> a, Vector128<byte> b, bool signed) => signed
        ? (Avx2.ConvertToVector256Int16(Sse2.UnpackLow(a, b).AsSByte()), Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(a, b).AsSByte()))
        : (Avx2.ConvertToVector256Int16(Sse2.UnpackLow(a, b)).AsInt16(), Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(a, b)).AsInt16());

    /// <summary>X of groups j and j + 1 (j even) of a super-block, as the int16 pair every lane multiplies, from the row's packed pairs (<see cref="ActivationRows.RowGroupPairs"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> GroupSumPair(int* pairs, int j) => Vector256.Create(pairs[j / 2]).AsInt16();

    /// <summary>
    /// y[j] = acc[j] (+ bias[j]) (+ y[j] when accumulating) for the panel's valid outputs. A full
    /// panel (16 outputs, every panel but a matrix's last) takes two 8-wide vectors: the same
    /// additions in the same order per element as the scalar tail, so the bits do not depend on which
    /// path stored them; at batch 64 the scalar loop alone was a seventh of the kernel's time.
    /// </summary>
    internal static void Store(float* acc, float* y, float* bias, bool accumulate, int valid)
    {
        if (valid == P && Vector256.IsHardwareAccelerated)
        {
            var v0 = Vector256.Load(acc);
            var v1 = Vector256.Load(acc + 8);
            if (bias != null)
            {
                v0 += Vector256.Load(bias);
                v1 += Vector256.Load(bias + 8);
            }

            if (accumulate)
            {
                v0 = Vector256.Load(y) + v0;
                v1 = Vector256.Load(y + 8) + v1;
            }

            v0.Store(y);
            v1.Store(y + 8);
            return;
        }

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
}

/// <summary>Which implementation of <see cref="QuantGemm"/> runs: the best the machine has, AVX2 without VNNI, or scalar.</summary>
internal enum QuantIsa
{
    Best,
    Avx2,
    Scalar,
}

/// <summary>One panel's share of a <see cref="QuantGemm"/> call.</summary>
internal unsafe struct PanelJob
{
    public PanelFormat Format;
    public byte* Data;
    public int SuperBlocks;
    public ActivationRows Activations;
    public float* Y;
    public int Ldy;
    public float* Bias;
    public bool Accumulate;
    public int Valid;
}
