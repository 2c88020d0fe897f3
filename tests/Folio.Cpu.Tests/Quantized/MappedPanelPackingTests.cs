using System.Runtime.InteropServices;
using Folio.Cpu.Quantized;
using Folio.Models;
using Folio.Models.Tests.Quantization;

namespace Folio.Cpu.Tests.Quantized;

/// <summary>
/// A mapped expert's panel packed on its own (<see cref="QuantMatrix.PackOnePanel"/>: word moves for
/// q8_0 and q4_0, the general packer for the rest) is byte for byte the panel the load-time packer
/// makes, for every type, for full panels and the last one cut short, over a panel buffer that held
/// other bytes before (a reused cache buffer).
/// </summary>
public sealed unsafe class MappedPanelPackingTests
{
    public static TheoryData<DType> Types => new(QuantLayouts.Quantized);

    private const int N = 37; // two full panels and a partial one
    private const int K = 512;

    private static TensorView RandomTensor(NativeTensorStore store, DType type)
    {
        var rng = new Random(7);
        var (values, bytes) = GgmlReferenceBlocks.Layout(type);
        int rowBytes = K / values * bytes;
        var view = store.Add("w", type, [N, K], (long)N * rowBytes);
        for (int n = 0; n < N; n++)
        {
            GgmlReferenceBlocks.RandomBlocks(type, K / values, rng, scale: 0.01f).CopyTo(new Span<byte>(view.Data + ((long)n * rowBytes), rowBytes));
        }

        return view;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_panel_packed_alone_is_the_load_time_packers_panel(DType type)
    {
        using var store = new NativeTensorStore("random-blocks");
        var view = RandomTensor(store, type);
        using var packed = QuantMatrix.FromTensors([view], [N], K);
        var part = packed.Parts[0];
        byte* panel = (byte*)NativeMemory.AlignedAlloc((nuint)part.PanelBytes, 64);
        try
        {
            for (int p = 0; p < part.Panels; p++)
            {
                new Span<byte>(panel, (int)part.PanelBytes).Fill(0xA5);
                QuantMatrix.PackOnePanel(view, part, p, panel);
                var expected = new ReadOnlySpan<byte>(part.Data + (p * part.PanelBytes), (int)part.PanelBytes);
                var actual = new ReadOnlySpan<byte>(panel, (int)part.PanelBytes);
                int diff = expected.CommonPrefixLength(actual);
                Assert.True(diff == expected.Length, $"{type}, panel {p}: byte {diff} of {expected.Length} differs");
            }

            // Packed at every step of a mapped expert without a cache: the managed heap must not see it.
            long before = GC.GetAllocatedBytesForCurrentThread();
            QuantMatrix.PackOnePanel(view, part, part.Panels - 1, panel);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            NativeMemory.AlignedFree(panel);
        }
    }

    [Theory]
    [InlineData(DType.Q8_0)]
    [InlineData(DType.Q4_0)]
    [InlineData(DType.Q4_K)]
    public void A_block_with_a_NaN_scale_stops_the_panel_with_the_load_time_packers_message(DType type)
    {
        using var store = new NativeTensorStore("random-blocks");
        var view = RandomTensor(store, type);
        var (values, bytes) = GgmlReferenceBlocks.Layout(type);
        int rowBytes = K / values * bytes;
        const int row = 21, block = 1;
        *(ushort*)(view.Data + ((long)row * rowBytes) + ((long)block * bytes) + GgmlReferenceBlocks.HalfFields(type)[0]) = 0x7E00;

        var atLoad = Assert.Throws<ModelFormatException>(() => QuantMatrix.FromTensors([view], [N], K));
        var part = QuantMatrix.Layout([view], [N], K)[0];
        byte* panel = (byte*)NativeMemory.AlignedAlloc((nuint)part.PanelBytes, 64);
        try
        {
            var mapped = Assert.Throws<ModelFormatException>(() => QuantMatrix.PackOnePanel(view, part, row / PanelFormat.Rows, panel));
            Assert.Equal(atLoad.Message, mapped.Message);
            Assert.Contains($"row {row}, block {block}", mapped.Message, StringComparison.Ordinal);
        }
        finally
        {
            NativeMemory.AlignedFree(panel);
        }
    }
}
