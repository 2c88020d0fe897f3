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
/// </summary>
internal sealed unsafe class MappedMatrix
{
    private readonly TensorView[] _parts;

    /// <summary>Per part, its first output row (f32 path: parts are concatenated row after row, as <see cref="PackedMatrix"/> does).</summary>
    private readonly int[] _row0;

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
        }
        else
        {
            Panels = (n + PackedMatrix.PanelWidth - 1) / PackedMatrix.PanelWidth;
            registry.RequireF32(k);
        }
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

    /// <summary>f32 path: y[.., panel p's columns] for the m rows of x, the panel packed from the file first.</summary>
    public void RunF32(float* x, int ldx, int m, float* y, int ldy, bool accumulate, int panelStart, int panelEnd, MappedPanelScratch scratch)
    {
        const int w = PackedMatrix.PanelWidth;
        float* panel = scratch.F32Panel;
        var row = scratch.Row.AsSpan(0, K);
        for (int p = panelStart; p < panelEnd; p++)
        {
            int n0 = p * w;
            int valid = Math.Min(w, N - n0);
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

            GemmKernels.RunPanel(x, ldx, m, panel, K, y + n0, ldy, null, accumulate, valid);
        }
    }

    /// <summary>Quantized path: each panel packed from the file into the thread's shell of this layout, then the int8 kernels on it.</summary>
    public void RunQuantized(QuantActivations activations, int m, float* y, int ldy, bool accumulate, int panelStart, int panelEnd, MappedPanelScratch scratch)
    {
        var shell = scratch.Shells[LayoutId];
        for (int p = panelStart; p < panelEnd; p++)
        {
            int i = QuantLayout!.Length - 1;
            while (QuantLayout[i].Panel0 > p)
            {
                i--;
            }

            var part = shell.Parts[i];
            int local = p - part.Panel0;
            QuantMatrix.PackOnePanel(_parts[i], part, local, scratch.QuantPanel);
            part.Data = scratch.QuantPanel - (local * part.PanelBytes);
            QuantGemm.Run(activations, m, shell, y, ldy, accumulate, p, p + 1);
        }
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
