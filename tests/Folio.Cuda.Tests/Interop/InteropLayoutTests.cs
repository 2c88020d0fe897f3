using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Folio.Cuda.Interop;

namespace Folio.Cuda.Tests.Interop;

/// <summary>Every struct passed to a native CUDA library has the size and field offsets of its C header.</summary>
public sealed class InteropLayoutTests
{
    [Fact]
    public void Cu_uuid_is_16_bytes() => Assert.Equal(16, Unsafe.SizeOf<CuUuid>());

    [Fact]
    public void Cublas_lt_algo_is_64_opaque_bytes() => Assert.Equal(64, Unsafe.SizeOf<CublasLtMatmulAlgo>());

    [Fact]
    public void Cublas_lt_heuristic_result_matches_cublas_lt_h()
    {
        // typedef struct { cublasLtMatmulAlgo_t algo; size_t workspaceSize; cublasStatus_t state; float wavesCount; int reserved[4]; }
        Assert.Equal(96, Unsafe.SizeOf<CublasLtMatmulHeuristicResult>());
        Assert.Equal(0, (int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.Algo)));
        Assert.Equal(64, (int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.WorkspaceSize)));
        Assert.Equal(72, (int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.State)));
        Assert.Equal(76, (int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.WavesCount)));
        Assert.Equal(80, (int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>("Reserved"));
    }

    [Fact]
    public void Kernel_args_hold_one_8_byte_slot_per_argument()
    {
        Assert.Equal((KernelArgs.Capacity * 8) + 8, Unsafe.SizeOf<KernelArgs>());
        var a = new KernelArgs().Ptr(0x1234_5678_9abcUL).Int(-2).Float(1.5f);
        Assert.Equal(3, a.Count);
    }
}
