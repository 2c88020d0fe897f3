using System.Runtime.InteropServices;

namespace Folio.Cuda.Interop;

/// <summary>A CUDA context (cuCtxCreate); destroyed when the last child handle lets go of it.</summary>
internal sealed class SafeCudaContextHandle : SafeHandle
{
    public SafeCudaContextHandle(nint ctx)
        : base(0, ownsHandle: true) => SetHandle(ctx);

    public override bool IsInvalid => handle == 0;

    /// <summary>Binds the context to the calling thread (driver calls act on the current context).</summary>
    public void MakeCurrent() => CudaDriver.Check(CudaDriver.cuCtxSetCurrent(handle), "cuCtxSetCurrent");

    protected override bool ReleaseHandle() => CudaDriver.cuCtxDestroy(handle) == 0;
}

/// <summary>
/// A handle that lives inside a context (module, memory, stream, graph, cuBLAS): it holds its
/// context alive (DangerousAddRef) until it is released itself, and makes the context current
/// before freeing, since finalizers run on a thread where it is not.
/// </summary>
internal abstract class SafeCudaChildHandle : SafeHandle
{
    private readonly SafeCudaContextHandle _context;

    protected SafeCudaChildHandle(SafeCudaContextHandle context, nint value)
        : base(0, ownsHandle: true)
    {
        bool added = false;
        context.DangerousAddRef(ref added);
        _context = context;
        SetHandle(value);
    }

    public SafeCudaContextHandle Context => _context;

    public override bool IsInvalid => handle == 0;

    protected sealed override bool ReleaseHandle()
    {
        try
        {
            return CudaDriver.cuCtxSetCurrent(_context.DangerousGetHandle()) == 0 && Free(handle);
        }
        finally
        {
            _context.DangerousRelease();
        }
    }

    protected abstract bool Free(nint value);
}

internal sealed class SafeCudaModuleHandle(SafeCudaContextHandle context, nint module) : SafeCudaChildHandle(context, module)
{
    protected override bool Free(nint value) => CudaDriver.cuModuleUnload(value) == 0;
}

/// <summary>Device memory from cuMemAlloc; the handle value is the CUdeviceptr.</summary>
internal sealed class SafeDeviceMemoryHandle(SafeCudaContextHandle context, ulong pointer) : SafeCudaChildHandle(context, (nint)pointer)
{
    protected override bool Free(nint value) => CudaDriver.cuMemFree((ulong)value) == 0;
}

internal sealed class SafeCudaStreamHandle(SafeCudaContextHandle context, nint stream) : SafeCudaChildHandle(context, stream)
{
    protected override bool Free(nint value) => CudaDriver.cuStreamDestroy(value) == 0;
}

internal sealed class SafeCudaGraphHandle(SafeCudaContextHandle context, nint graph) : SafeCudaChildHandle(context, graph)
{
    protected override bool Free(nint value) => CudaDriver.cuGraphDestroy(value) == 0;
}

internal sealed class SafeCudaGraphExecHandle(SafeCudaContextHandle context, nint exec) : SafeCudaChildHandle(context, exec)
{
    protected override bool Free(nint value) => CudaDriver.cuGraphExecDestroy(value) == 0;
}

/// <summary>Page-locked host memory (cuMemAllocHost) for asynchronous copies that a CUDA graph can replay.</summary>
internal sealed class SafePinnedHostHandle(SafeCudaContextHandle context, nint pointer) : SafeCudaChildHandle(context, pointer)
{
    protected override bool Free(nint value) => CudaDriver.cuMemFreeHost(value) == 0;
}

internal sealed class SafeCublasHandle(SafeCudaContextHandle context, nint cublas) : SafeCudaChildHandle(context, cublas)
{
    protected override bool Free(nint value) => Cublas.cublasDestroy(value) == 0;
}
