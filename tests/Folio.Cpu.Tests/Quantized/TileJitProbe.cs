using Folio.Cpu.Quantized;
using Folio.Models;
using Folio.Models.Tests.Quantization;

namespace Folio.Cpu.Tests.Quantized;

/// <summary>
/// Child side of <see cref="TileInliningTests"/>: runs every int8 kernel format once through all three
/// row tiles (7 activation rows: a tile of 4, one of 2, one of 1), so that the JIT compiles each
/// <c>QuantGemm.Tile</c> instantiation and, with <c>DOTNET_JitDisasm</c> set, writes its code.
/// </summary>
internal static unsafe class TileJitProbe
{
    /// <summary>Every quantized type Folio reads that has a panel format, which is every type <c>QuantGemm</c> has an int8 kernel for.</summary>
    public static readonly DType[] Types = QuantLayouts.Quantized.Where(t => PanelFormat.For(t) is not null).ToArray();

    public const int Rows = 7;

    private const int K = 256;

    public static void Run()
    {
        var rng = new Random(3);
        var x = new float[K];
        var y = new float[Rows * PanelFormat.Rows];
        foreach (var type in Types)
        {
            var (values, bytes) = GgmlReferenceBlocks.Layout(type);
            int rowBytes = K / values * bytes;
            int n = PanelFormat.Rows;
            using var store = new NativeTensorStore("tile-jit");
            var view = store.Add("w", type, [n, K], (long)n * rowBytes);
            for (int r = 0; r < n; r++)
            {
                GgmlReferenceBlocks.RandomBlocks(type, K / values, rng, scale: 0.01f).CopyTo(new Span<byte>(view.Data + ((long)r * rowBytes), rowBytes));
            }

            using var matrix = QuantMatrix.FromTensors([view], [n], K);
            using var acts = new QuantActivations();
            acts.EnsureCapacity(Rows, K);
            fixed (float* px = x, py = y)
            {
                for (int m = 0; m < Rows; m++)
                {
                    for (int k = 0; k < K; k++)
                    {
                        px[k] = (float)((rng.NextDouble() * 2) - 1);
                    }

                    acts.QuantizeRow(px, m, K, matrix.NeedsBlocks32, matrix.NeedsBlocks256);
                }

                QuantGemm.Run(acts, Rows, matrix, py, n, accumulate: false, 0, matrix.Panels);
            }
        }
    }
}
