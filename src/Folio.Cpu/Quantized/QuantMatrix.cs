using System.Runtime.InteropServices;
using Folio.Models;

namespace Folio.Cpu.Quantized;

/// <summary>One source tensor's rows inside a <see cref="QuantMatrix"/>: its format, output rows and panels.</summary>
internal sealed unsafe class QuantPart
{
    public required PanelFormat Format { get; init; }

    /// <summary>First output row (column of y) this part produces.</summary>
    public required int Row0 { get; init; }
    public required int Rows { get; init; }

    /// <summary>First panel of the matrix that belongs to this part; each part starts on a fresh panel.</summary>
    public required int Panel0 { get; init; }
    public required int Panels { get; init; }

    /// <summary>Records of K / SuperBlock super-blocks per panel, panel after panel.</summary>
    public byte* Data { get; set; }
    public long PanelBytes { get; init; }
}

/// <summary>
/// A linear layer's weight W[N, K] kept in its GGML quantized form(s), repacked into panels of 16
/// output rows (<see cref="PanelFormat"/>) for the int8 kernels of <see cref="QuantGemm"/>. A fused
/// matrix (q/k/v, gate/up) may mix types, one <see cref="QuantPart"/> per source tensor, each padded
/// to whole panels. Memory is about the GGML blocks' own size.
/// </summary>
internal sealed unsafe class QuantMatrix : IDisposable
{
    private readonly int[] _panelPart;

    private QuantMatrix(int n, int k, QuantPart[] parts, float* bias)
    {
        N = n;
        K = k;
        Parts = parts;
        Bias = bias;
        Panels = parts.Sum(p => p.Panels);
        _panelPart = new int[Panels];
        for (int i = 0; i < parts.Length; i++)
        {
            Array.Fill(_panelPart, i, parts[i].Panel0, parts[i].Panels);
        }

        NeedsBlocks32 = parts.Any(p => p.Format.SuperBlock == 32);
        NeedsBlocks256 = parts.Any(p => p.Format.SuperBlock == QuantLayouts.SuperBlock);
    }

    public int N { get; }
    public int K { get; }
    public int Panels { get; }
    public IReadOnlyList<QuantPart> Parts { get; }

    /// <summary>[N] bias or null.</summary>
    public float* Bias { get; private set; }

    /// <summary>Whether some part needs activations quantized in blocks of 32 (the simple types).</summary>
    public bool NeedsBlocks32 { get; }

    /// <summary>Whether some part needs activations quantized in blocks of 256 (the k-quants, iq4_xs).</summary>
    public bool NeedsBlocks256 { get; }

    /// <summary>Bytes of packed weights (what a forward pass reads once).</summary>
    public long Bytes => Parts.Sum(p => p.PanelBytes * p.Panels);

    public QuantPart PartOf(int panel) => (QuantPart)Parts[_panelPart[panel]];

    /// <summary>True when every part is a block-quantized type whose blocks tile K (the matrix can be kept quantized).</summary>
    public static bool CanHold(IReadOnlyList<TensorView> parts, int k) =>
        parts.All(t => PanelFormat.For(t.DType) is { } f && k % f.SuperBlock == 0);

    /// <summary>
    /// Packs the row-wise concatenation of <paramref name="parts"/> (each [rows_i, K], block-quantized; see
    /// <see cref="CanHold"/>). A block with a NaN or infinite scale stops the packing with a message
    /// naming the file, the tensor, its type, the row and the block.
    /// </summary>
    public static QuantMatrix FromTensors(IReadOnlyList<TensorView> parts, IReadOnlyList<int> rows, int k, IReadOnlyList<TensorView?>? biases = null)
    {
        var list = Layout(parts, rows, k);
        int row0 = list[^1].Row0 + list[^1].Rows;

        float* bias = null;
        if (biases is not null && biases.Any(b => b is not null))
        {
            bias = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(row0, 1) * sizeof(float)), 64);
            NativeMemory.Clear(bias, (nuint)(row0 * sizeof(float)));
            for (int i = 0; i < parts.Count; i++)
            {
                if (biases[i] is { } b)
                {
                    DTypeConversion.ToF32(b, 0, new Span<float>(bias + list[i].Row0, rows[i]));
                }
            }
        }

        var m = new QuantMatrix(row0, k, list, bias);
        try
        {
            for (int i = 0; i < parts.Count; i++)
            {
                Pack(parts[i], list[i], k);
            }
        }
        catch
        {
            m.Dispose();
            throw;
        }

        return m;
    }

    /// <summary>
    /// The parts' formats, rows and panels (no data): what <see cref="FromTensors"/> packs into, and
    /// what a mapped expert's panels are packed against one at a time (<see cref="MappedMatrix"/>).
    /// </summary>
    internal static QuantPart[] Layout(IReadOnlyList<TensorView> parts, IReadOnlyList<int> rows, int k)
    {
        var list = new QuantPart[parts.Count];
        int row0 = 0, panel0 = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var f = PanelFormat.For(parts[i].DType) ?? throw new ArgumentException($"tensor '{parts[i].Name}' of {parts[i].DType} is not block-quantized");
            if (k % f.SuperBlock != 0)
            {
                throw new ModelFormatException($"{parts[i].File}: tensor '{parts[i].Name}' is {QuantLayouts.Name(f.Type)} but its row length {k} is not a multiple of {f.SuperBlock}");
            }

            int panels = (rows[i] + PanelFormat.Rows - 1) / PanelFormat.Rows;
            list[i] = new QuantPart { Format = f, Row0 = row0, Rows = rows[i], Panel0 = panel0, Panels = panels, PanelBytes = (long)(k / f.SuperBlock) * f.RecordBytes };
            row0 += rows[i];
            panel0 += panels;
        }

        return list;
    }

    /// <summary>A matrix of <see cref="Layout"/>'s parts whose data pointers the caller sets (one panel at a time); it owns no memory.</summary>
    internal static QuantMatrix Shell(QuantPart[] layout, int k) =>
        new(layout[^1].Row0 + layout[^1].Rows, k, layout.Select(p => new QuantPart { Format = p.Format, Row0 = p.Row0, Rows = p.Rows, Panel0 = p.Panel0, Panels = p.Panels, PanelBytes = p.PanelBytes }).ToArray(), null);

    /// <summary>
    /// Packs panel <paramref name="local"/> of <paramref name="part"/> from tensor <paramref name="t"/>
    /// into <paramref name="panel"/> (<see cref="QuantPart.PanelBytes"/> bytes, cleared here), exactly
    /// as <see cref="FromTensors"/> packs it: by word moves for q8_0 and q4_0 (<see cref="DirectPanelPacking"/>),
    /// by the general per-value packer for the other types.
    /// </summary>
    internal static void PackOnePanel(TensorView t, QuantPart part, int local, byte* panel)
    {
        NativeMemory.Clear(panel, (nuint)part.PanelBytes);
        if (DirectPanelPacking.Handles(part.Format.Type))
        {
            DirectPanelPacking.Pack(t, part, local, panel);
            return;
        }

        var layout = QuantLayouts.Of(part.Format.Type);
        int k = (int)t.Shape[1];
        PackPanel(t, part, local, t.Data, panel - (local * part.PanelBytes), (long)(k / layout.Values) * layout.Bytes, k / part.Format.SuperBlock, layout);
    }

    private static void Pack(TensorView t, QuantPart part, int k)
    {
        var f = part.Format;
        long bytes = part.PanelBytes * part.Panels;
        part.Data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        NativeMemory.Clear(part.Data, (nuint)bytes);
        var layout = QuantLayouts.Of(f.Type);
        int blocksPerRow = k / layout.Values;
        long rowBytes = (long)blocksPerRow * layout.Bytes;
        int superBlocks = k / f.SuperBlock;
        nint srcAddress = (nint)t.Data;
        nint dstAddress = (nint)part.Data;

        // Panels are independent (rows of one panel share bytes of the code planes), so they pack in parallel.
        try
        {
            Parallel.For(0, part.Panels, p => PackPanel(t, part, p, (byte*)srcAddress, (byte*)dstAddress, rowBytes, superBlocks, layout));
        }
        catch (AggregateException e) when (e.InnerExceptions.OfType<ModelFormatException>().FirstOrDefault() is { } first)
        {
            throw first;
        }
    }

    private static void PackPanel(TensorView t, QuantPart part, int p, byte* src, byte* dst, long rowBytes, int superBlocks, BlockLayout layout)
    {
            var f = part.Format;
            Span<int> codes = stackalloc int[QuantLayouts.SuperBlock];
            Span<int> scales = stackalloc int[16];
            Span<int> mins = stackalloc int[16];
            var reader = new GgmlBlockReader { Codes = codes, GroupScales = scales, GroupMins = mins };
            int groups = f.SuperBlock / f.Group;
            for (int r = 0; r < PanelFormat.Rows; r++)
            {
                int row = (p * PanelFormat.Rows) + r;
                if (row >= part.Rows)
                {
                    break;
                }

                var rowData = new ReadOnlySpan<byte>(src + (row * rowBytes), checked((int)rowBytes));
                long bad = QuantValidation.FirstBadBlock(f.Type, rowData);
                if (bad >= 0)
                {
                    throw new ModelFormatException($"{t.File}: tensor '{t.Name}' of type {QuantLayouts.Name(f.Type)} is corrupt: row {row}, block {bad} has a NaN or infinite scale (re-download or re-quantize the file)");
                }

                for (int s = 0; s < superBlocks; s++)
                {
                    reader.Read(f.Type, rowData.Slice(s * layout.Bytes, layout.Bytes));
                    byte* rec = dst + (p * part.PanelBytes) + ((long)s * f.RecordBytes);
                    for (int v = 0; v < f.SuperBlock; v++)
                    {
                        PanelRecord.SetCode(f, rec, v, r, codes[v]);
                    }

                    PanelRecord.D(f, rec)[r] = reader.D;
                    if (f.Scales is ScaleKind.BlockMin or ScaleKind.GroupsMin or ScaleKind.GroupsMinPacked)
                    {
                        PanelRecord.M(f, rec)[r] = reader.M;
                    }

                    if (f.HasGroups)
                    {
                        byte* gs = PanelRecord.GroupScales(f, rec);
                        for (int g = 0; g < groups; g++)
                        {
                            gs[(g * PanelFormat.Rows) + r] = f.Scales == ScaleKind.GroupsMinPacked
                                ? (byte)(scales[g] | (mins[g] << 4))
                                : (byte)scales[g];
                            if (f.Scales == ScaleKind.GroupsMin)
                            {
                                PanelRecord.GroupMins(f, rec)[(g * PanelFormat.Rows) + r] = (byte)mins[g];
                            }
                        }
                    }
                }
            }
    }

    public void Dispose()
    {
        foreach (var p in Parts)
        {
            if (p.Data != null)
            {
                NativeMemory.AlignedFree(p.Data);
                p.Data = null;
            }
        }

        if (Bias != null)
        {
            NativeMemory.AlignedFree(Bias);
            Bias = null;
        }
    }
}
