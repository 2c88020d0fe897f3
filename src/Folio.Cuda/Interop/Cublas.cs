using System.Runtime.InteropServices;

namespace Folio.Cuda.Interop;

/// <summary>cuBLAS (v2 API): the GEMMs, bf16 inputs with f32 accumulation and f32 output.</summary>
internal static unsafe partial class Cublas
{
    private const string Lib = NativeLibraries.Cublas;

    public const int CUBLAS_OP_N = 0;
    public const int CUBLAS_OP_T = 1;
    public const int CUDA_R_32F = 0;
    public const int CUDA_R_16BF = 14;
    public const int CUBLAS_COMPUTE_32F = 68;
    public const int CUBLAS_GEMM_DEFAULT = -1;
    public const int CUBLAS_DEFAULT_MATH = 0;

    [LibraryImport(Lib, EntryPoint = "cublasCreate_v2")] internal static partial int cublasCreate(out nint handle);
    [LibraryImport(Lib, EntryPoint = "cublasDestroy_v2")] internal static partial int cublasDestroy(nint handle);
    [LibraryImport(Lib, EntryPoint = "cublasSetStream_v2")] internal static partial int cublasSetStream(nint handle, nint stream);
    [LibraryImport(Lib)] internal static partial int cublasSetWorkspace_v2(nint handle, ulong workspace, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cublasSetMathMode(nint handle, int mode);

    [LibraryImport(Lib)]
    internal static partial int cublasGemmEx(nint handle, int transa, int transb, int m, int n, int k, float* alpha, ulong a, int atype, int lda,
        ulong b, int btype, int ldb, float* beta, ulong c, int ctype, int ldc, int computeType, int algo);

    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new CudaException(call, status, StatusName(status));
        }
    }

    public static string StatusName(int status) => status switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => "cublasStatus " + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
