using System.Runtime.InteropServices;
using Folio.Cpu.Quantized;

namespace Folio.Cpu;

/// <summary>
/// One thread's room for the panel a <see cref="MappedMatrix"/> packs from the file before the kernel
/// reads it: an f32 panel [K][64], a quantized panel, a row of f32, and one <see cref="QuantMatrix"/>
/// shell per distinct quantized layout (its data pointer set to the scratch panel as it goes).
/// Allocated once at load for the largest weight, so a step allocates nothing.
/// </summary>
internal sealed unsafe class MappedPanelScratch : IDisposable
{
    private MappedPanelScratch(Registry registry)
    {
        Row = new float[Math.Max(registry.MaxK, 1)];
        F32Panel = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(registry.MaxF32K, 1) * (long)PackedMatrix.PanelWidth * sizeof(float)), 64);
        QuantPanel = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(registry.MaxPanelBytes, 1), 64);
        Shells = registry.Layouts.Select(l => QuantMatrix.Shell(l.Parts, l.K)).ToArray();
    }

    public float[] Row { get; }
    public float* F32Panel { get; private set; }
    public byte* QuantPanel { get; private set; }
    public QuantMatrix[] Shells { get; }

    public void Dispose()
    {
        // The shells own nothing (their data pointers are this scratch's panel), so they are not disposed.
        if (F32Panel != null)
        {
            NativeMemory.AlignedFree(F32Panel);
            F32Panel = null;
        }

        if (QuantPanel != null)
        {
            NativeMemory.AlignedFree(QuantPanel);
            QuantPanel = null;
        }
    }

    /// <summary>What the mapped weights of a model need of each thread's scratch, gathered as they are built.</summary>
    internal sealed class Registry
    {
        private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

        public List<(QuantPart[] Parts, int K)> Layouts { get; } = [];
        public int MaxK { get; private set; }
        public int MaxF32K { get; private set; }
        public long MaxPanelBytes { get; private set; }

        public bool Any => MaxK > 0;

        public void RequireF32(int k)
        {
            MaxK = Math.Max(MaxK, k);
            MaxF32K = Math.Max(MaxF32K, k);
        }

        /// <summary>The id of this layout (equal layouts share a shell), registering it when new.</summary>
        public int Register(QuantPart[] layout, int k)
        {
            MaxK = Math.Max(MaxK, k);
            MaxPanelBytes = Math.Max(MaxPanelBytes, layout.Max(p => p.PanelBytes));
            string key = k + ":" + string.Join(",", layout.Select(p => $"{p.Format.Type}/{p.Rows}"));
            if (!_ids.TryGetValue(key, out int id))
            {
                id = Layouts.Count;
                Layouts.Add((layout, k));
                _ids[key] = id;
            }

            return id;
        }

        public MappedPanelScratch[] CreateScratch(int threads) =>
            Any ? Enumerable.Range(0, threads).Select(_ => new MappedPanelScratch(this)).ToArray() : [];
    }
}
