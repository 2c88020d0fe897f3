using Folio.Cpu.Quantized;
using Folio.Models;

namespace Folio.Cpu;

/// <summary>
/// A linear weight read from the model file's own layout at every step, never copied whole: each
/// GEMM panel is packed into its thread's scratch (<see cref="MappedPanelScratch"/>) from the file's
/// rows just before the kernel runs on it. The panel's bytes are exactly what <see cref="PackedMatrix"/>
/// or <see cref="QuantMatrix"/> would have held, and the kernels are the same, so results are bitwise
/// those of the packed weight. Used for a mixture of experts' experts: an expert no token is routed to
/// is never read, so its pages of the mapped file are never touched, and the process's resident set
/// grows with the experts used, not with the experts present.
/// <para>
/// With an <see cref="ExpertPanelCache"/> the weight may instead hold all its panels packed, in a
/// buffer the cache lends it: the first use after it is lent packs each panel there (instead of in
/// the thread's scratch) and later uses run the kernels on the packed panels directly, as a packed
/// weight would. Same bytes, same kernels, so the results do not depend on what the cache holds.
/// </para>
/// </summary>
internal sealed unsafe class MappedMatrix
{
    private readonly TensorView[] _parts;

    /// <summary>Per part, its first output row (f32 path: parts are concatenated row after row, as <see cref="PackedMatrix"/> does).</summary>
    private readonly int[] _row0;

    /// <summary>Quantized path: the layout's parts with data pointers into the cache's buffer while one is lent.</summary>
    private readonly QuantMatrix? _cachedShell;

    /// <summary>Quantized path: per part, its offset in the packed buffer.</summary>
    private readonly long[] _partOffset;

    public MappedMatrix(TensorView[] parts, int[] rows, int k, bool keepQuantized, MappedPanelScratch.Registry registry)
    {
        _parts = parts;
        _row0 = new int[parts.Length];
        int n = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            PackedMatrix.RequireShape(parts[i], [rows[i], k]);
            _row0[i] = n;
            n += rows[i];
        }

        N = n;
        K = k;
        if (keepQuantized && QuantMatrix.CanHold(parts, k))
        {
            QuantLayout = QuantMatrix.Layout(parts, rows, k);
            Panels = QuantLayout.Sum(p => p.Panels);
            LayoutId = registry.Register(QuantLayout, k);
            NeedsBlocks32 = QuantLayout.Any(p => p.Format.SuperBlock == 32);
            NeedsBlocks256 = QuantLayout.Any(p => p.Format.SuperBlock == QuantLayouts.SuperBlock);
            _cachedShell = QuantMatrix.Shell(QuantLayout, k);
            _partOffset = new long[parts.Length];
            long offset = 0;
            for (int i = 0; i < parts.Length; i++)
            {
                _partOffset[i] = offset;
                offset += QuantLayout[i].PanelBytes * QuantLayout[i].Panels;
            }

            PackedBytes = offset;
        }
        else
        {
            Panels = (n + PackedMatrix.PanelWidth - 1) / PackedMatrix.PanelWidth;
            registry.RequireF32(k);
            _partOffset = [];
            PackedBytes = (long)Panels * PackedMatrix.PanelWidth * k * sizeof(float);
        }
    }

    /// <summary>How a step runs this weight, chosen by the runner from the cache before the kernels start.</summary>
    internal enum Source
    {
        /// <summary>Each panel packed into the thread's scratch, used, and dropped (no cache, or the weight is bigger than it).</summary>
        Scratch,

        /// <summary>A cache buffer was just lent: each panel is packed into it, then used; later steps find it there.</summary>
        Fill,

        /// <summary>The packed panels are in the cache's buffer: the kernels read them directly.</summary>
        Cached,
    }

    /// <summary>Bytes of all panels packed (what the cache lends this weight).</summary>
    public long PackedBytes { get; }

    /// <summary>The cache's buffer holding this weight's packed panels, or null.</summary>
    internal byte* Cached { get; private set; }

    /// <summary>The cache's clock at this weight's last use (least recently used is evicted first).</summary>
    internal long LastUse { get; set; }

    /// <summary>Takes a buffer of <see cref="PackedBytes"/> from the cache; its panels are packed at the next run (<see cref="Source.Fill"/>).</summary>
    internal void Lend(byte* buffer)
    {
        Cached = buffer;
        if (_cachedShell is not null)
        {
            for (int i = 0; i < _partOffset.Length; i++)
            {
                _cachedShell.Parts[i].Data = buffer + _partOffset[i];
            }
        }
    }

    /// <summary>Gives the cache's buffer back (evicted, or its filling failed).</summary>
    internal byte* Reclaim()
    {
        byte* buffer = Cached;
        Cached = null;
        if (_cachedShell is not null)
        {
            for (int i = 0; i < _partOffset.Length; i++)
            {
                _cachedShell.Parts[i].Data = null;
            }
        }

        return buffer;
    }

    public int N { get; }
    public int K { get; }
    public int Panels { get; }

    /// <summary>The parts' quantized panel layout; null when the weight is multiplied in f32.</summary>
    public QuantPart[]? QuantLayout { get; }

    public bool NeedsBlocks32 { get; }
    public bool NeedsBlocks256 { get; }

    /// <summary>Index of <see cref="QuantLayout"/> among the thread scratch's shells.</summary>
    public int LayoutId { get; } = -1;

    /// <summary>Bytes of the file a forward pass reads for this weight when it is used.</summary>
    public long Bytes => _parts.Sum(p => p.ByteLength);

    /// <summary>The file bytes of each part, by its type's name (for reports).</summary>
    public IEnumerable<(string Type, long Bytes)> FileBytesByType() => _parts.Select(p => (p.DType.ToString(), p.ByteLength));

    /// <summary>f32 path: y[.., panel p's columns] for the m rows of x, each panel read from the cache or packed from the file first.</summary>
    public void RunF32(float* x, int ldx, int m, float* y, int ldy, bool accumulate, int panelStart, int panelEnd, Source source, MappedPanelScratch scratch)
    {
        const int w = PackedMatrix.PanelWidth;
        long panelFloats = (long)K * w;
        for (int p = panelStart; p < panelEnd; p++)
        {
            float* panel = source == Source.Scratch ? scratch.F32Panel : (float*)Cached + (p * panelFloats);
            if (source != Source.Cached)
            {
                PackF32Panel(p, panel, scratch.Row.AsSpan(0, K));
            }

            int n0 = p * w;
            GemmKernels.RunPanel(x, ldx, m, panel, K, y + n0, ldy, null, accumulate, Math.Min(w, N - n0));
        }
    }

    /// <summary>Panel p as <see cref="PackedMatrix"/> lays it out ([K][64], rows past N zero), each row converted from the file exactly.</summary>
    private void PackF32Panel(int p, float* panel, Span<float> row)
    {
        const int w = PackedMatrix.PanelWidth;
        int n0 = p * w;
        for (int j = 0; j < w; j++)
        {
            int r = n0 + j;
            if (r < N)
            {
                int i = PartOfRow(r);
                DTypeConversion.ToF32(_parts[i], (long)(r - _row0[i]) * K, row);
            }
            else
            {
                row.Clear();
            }

            float* column = panel + j;
            for (int k = 0; k < row.Length; k++)
            {
                column[(long)k * w] = row[k];
            }
        }
    }

    /// <summary>
    /// Quantized path: the int8 kernels on panels [panelStart, panelEnd), read from the cache's buffer,
    /// packed into it first (<see cref="Source.Fill"/>), or packed one at a time into the thread's shell
    /// of this layout (<see cref="Source.Scratch"/>).
    /// </summary>
    public void RunQuantized(QuantActivations activations, int m, float* y, int ldy, bool accumulate, int panelStart, int panelEnd, Source source, MappedPanelScratch scratch)
    {
        if (source != Source.Scratch)
        {
            for (int p = panelStart; source == Source.Fill && p < panelEnd; p++)
            {
                int i = PartOfPanel(p);
                var part = _cachedShell!.Parts[i];
                int local = p - part.Panel0;
                QuantMatrix.PackOnePanel(_parts[i], part, local, part.Data + (local * part.PanelBytes));
            }

            QuantGemm.Run(activations, m, _cachedShell!, y, ldy, accumulate, panelStart, panelEnd);
            return;
        }

        var shell = scratch.Shells[LayoutId];
        for (int p = panelStart; p < panelEnd; p++)
        {
            int i = PartOfPanel(p);
            var part = shell.Parts[i];
            int local = p - part.Panel0;
            QuantMatrix.PackOnePanel(_parts[i], part, local, scratch.QuantPanel);
            part.Data = scratch.QuantPanel - (local * part.PanelBytes);
            QuantGemm.Run(activations, m, shell, y, ldy, accumulate, p, p + 1);
        }
    }

    private int PartOfPanel(int p)
    {
        int i = QuantLayout!.Length - 1;
        while (QuantLayout[i].Panel0 > p)
        {
            i--;
        }

        return i;
    }

    private int PartOfRow(int r)
    {
        int i = _row0.Length - 1;
        while (_row0[i] > r)
        {
            i--;
        }

        return i;
    }
}
