using Folio.Cuda.Interop;

namespace Folio.Cuda.Runner;

/// <summary>
/// Row-major Y[m, n] = X[m, k] · W[n, k]^T with X and W in bf16, accumulation and Y in f32, through
/// cublasGemmEx. cuBLAS is column-major, so this is Y^T = W · X^T: op(W) = T (W row-major [n, k] is
/// column-major [k, n]), op(X^T) = N.
/// </summary>
internal sealed unsafe class CublasGemm : IDisposable
{
    private readonly SafeCublasHandle _handle;
    private readonly DeviceBuffer _workspace;

    public CublasGemm(CudaContext ctx, CudaStream stream, long workspaceBytes = 32L << 20)
    {
        ctx.MakeCurrent();
        Interop.NativeLibraries.Load(Interop.NativeLibraries.Cublas);
        Cublas.Check(Cublas.cublasCreate(out nint h), "cublasCreate");
        _handle = new SafeCublasHandle(ctx.Handle, h);
        Cublas.Check(Cublas.cublasSetStream(h, stream.Raw), "cublasSetStream");
        // An explicit workspace keeps cuBLAS from allocating while a CUDA graph is being captured.
        _workspace = ctx.Allocate(workspaceBytes);
        Cublas.Check(Cublas.cublasSetWorkspace_v2(h, _workspace.Pointer, (nuint)workspaceBytes), "cublasSetWorkspace");
        Cublas.Check(Cublas.cublasSetMathMode(h, Cublas.CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    }

    public void Run(ulong x, ulong w, ulong y, int m, int n, int k)
    {
        if (m == 0)
        {
            return;
        }

        float alpha = 1f, beta = 0f;
        int status = Cublas.cublasGemmEx(_handle.DangerousGetHandle(), Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, n, m, k, &alpha, w, Cublas.CUDA_R_16BF, k,
            x, Cublas.CUDA_R_16BF, k, &beta, y, Cublas.CUDA_R_32F, n, Cublas.CUBLAS_COMPUTE_32F, Cublas.CUBLAS_GEMM_DEFAULT);
        if (status != 0)
        {
            Cublas.Check(status, $"cublasGemmEx(m={m}, n={n}, k={k})");
        }
    }

    public void Dispose()
    {
        _handle.Dispose();
        _workspace.Dispose();
    }
}
