using System.Runtime.CompilerServices;

namespace Folio.Cuda.Tests.Interop;

/// <summary>Every struct passed to a native CUDA library has the size and field offsets of its C header.</summary>
public sealed class InteropLayoutTests
{
    [Fact]
    public void Kernel_args_hold_one_8_byte_slot_per_argument()
    {
        Assert.Equal((KernelArgs.Capacity * 8) + 8, Unsafe.SizeOf<KernelArgs>());
        var a = new KernelArgs().Ptr(0x1234_5678_9abcUL).Int(-2).Float(1.5f);
        Assert.Equal(3, a.Count);
    }
}
