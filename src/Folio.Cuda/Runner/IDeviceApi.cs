namespace Folio.Cuda.Runner;

/// <summary>
/// What <see cref="CudaModelRunner"/> needs from a device: memory, stream-ordered copies, kernel
/// launches by name, the GEMM, and graphs where supported. The CUDA implementation is
/// <see cref="CudaDeviceApi"/>; the tests supply one over the host-emulated kernels, so the
/// runner's orchestration (every argument, stride and offset) is checked without a GPU.
/// Pointers are device addresses as integers.
/// </summary>
internal unsafe interface IDeviceApi : IDisposable
{
    string DeviceName { get; }

    /// <summary>The virtual architecture the kernels were compiled for (0 where nothing was compiled).</summary>
    int CompiledArch { get; }

    bool SupportsGraphs { get; }

    /// <summary>Makes the device current on the calling thread (the engine may call from a thread other than the constructor's).</summary>
    void Bind();

    ulong Allocate(long bytes);

    void Free(ulong pointer);

    void Clear(ulong pointer, long bytes);

    /// <summary>Host memory the device can read asynchronously (page-locked on CUDA).</summary>
    void* AllocateHost(long bytes);

    void FreeHost(void* pointer);

    /// <summary>Stream-ordered copy; the source must stay valid until <see cref="Synchronize"/>.</summary>
    void Upload(ulong destination, void* source, long bytes);

    void Download(void* destination, ulong source, long bytes);

    void Copy(ulong destination, ulong source, long bytes);

    /// <summary>The id of a kernel defined by native-kernels/*.cu (throws naming it when absent).</summary>
    int Kernel(string name);

    void Launch(int kernel, (int X, int Y, int Z) grid, int threads, long sharedBytes, KernelArgs args);

    /// <summary>Row-major Y[m, n] (f32) = X[m, k] (bf16) · W[n, k]^T (bf16), f32 accumulation.</summary>
    void Gemm(ulong x, ulong w, ulong y, int m, int n, int k);

    void Synchronize();

    (long Free, long Total) MemoryInfo();

    void BeginCapture();

    /// <summary>Ends the capture and returns an id for <see cref="LaunchGraph"/>.</summary>
    int EndCapture(string what);

    void LaunchGraph(int graph);
}
