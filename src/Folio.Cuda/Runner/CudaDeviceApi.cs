using Folio.Cuda.Interop;

namespace Folio.Cuda.Runner;

/// <summary><see cref="IDeviceApi"/> on a real CUDA device: one context, one stream, NVRTC-compiled kernels, cuBLAS.</summary>
internal sealed unsafe class CudaDeviceApi : IDeviceApi
{
    private readonly CudaContext _ctx;
    private readonly CudaStream _stream;
    private readonly CudaKernelSet _kernels;
    private readonly CublasGemm _gemm;
    private readonly Dictionary<ulong, DeviceBuffer> _buffers = [];
    private readonly Dictionary<nint, SafePinnedHostHandle> _pinned = [];
    private readonly List<CudaKernel> _byId = [];
    private readonly List<(SafeCudaGraphHandle Graph, SafeCudaGraphExecHandle Exec)> _graphs = [];

    public CudaDeviceApi(int ordinal, string? kernelCacheDirectory)
    {
        _ctx = CudaContext.Create(ordinal);
        try
        {
            _stream = _ctx.CreateStream();
            _kernels = new CudaKernelSet(_ctx, kernelCacheDirectory);
            _gemm = new CublasGemm(_ctx, _stream);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string DeviceName => _ctx.Name;
    public int CompiledArch => _kernels.Arch;
    public bool SupportsGraphs => true;

    public void Bind() => _ctx.MakeCurrent();

    public ulong Allocate(long bytes)
    {
        var b = _ctx.Allocate(bytes);
        _buffers[b.Pointer] = b;
        return b.Pointer;
    }

    public void Free(ulong pointer)
    {
        if (_buffers.Remove(pointer, out var b))
        {
            b.Dispose();
        }
    }

    public void Clear(ulong pointer, long bytes)
    {
        _ctx.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemsetD8(pointer, 0, (nuint)bytes), "cuMemsetD8");
    }

    public void* AllocateHost(long bytes)
    {
        _ctx.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemAllocHost(out nint p, (nuint)bytes), "cuMemAllocHost");
        _pinned[p] = new SafePinnedHostHandle(_ctx.Handle, p);
        return (void*)p;
    }

    public void FreeHost(void* pointer)
    {
        if (_pinned.Remove((nint)pointer, out var h))
        {
            h.Dispose();
        }
    }

    public void Upload(ulong destination, void* source, long bytes) =>
        CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(destination, source, (nuint)bytes, _stream.Raw), "cuMemcpyHtoDAsync");

    public void Download(void* destination, ulong source, long bytes) =>
        CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync(destination, source, (nuint)bytes, _stream.Raw), "cuMemcpyDtoHAsync");

    public void Copy(ulong destination, ulong source, long bytes) =>
        CudaDriver.Check(CudaDriver.cuMemcpyDtoDAsync(destination, source, (nuint)bytes, _stream.Raw), "cuMemcpyDtoDAsync");

    public int Kernel(string name)
    {
        _byId.Add(_kernels.Get(name));
        return _byId.Count - 1;
    }

    public void Launch(int kernel, (int X, int Y, int Z) grid, int threads, long sharedBytes, KernelArgs args) =>
        _byId[kernel].Launch(_stream, grid, threads, sharedBytes, args);

    public void Gemm(ulong x, ulong w, ulong y, int m, int n, int k) => _gemm.Run(x, w, y, m, n, k);

    public void Synchronize() => _stream.Synchronize();

    public (long Free, long Total) MemoryInfo() => _ctx.MemoryInfo();

    public void BeginCapture()
    {
        _ctx.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuStreamBeginCapture(_stream.Raw, CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
    }

    public int EndCapture(string what)
    {
        CudaDriver.Check(CudaDriver.cuStreamEndCapture(_stream.Raw, out nint g), $"cuStreamEndCapture({what})");
        var graph = new SafeCudaGraphHandle(_ctx.Handle, g);
        CudaDriver.Check(CudaDriver.cuGraphInstantiateWithFlags(out nint exec, g, 0), $"cuGraphInstantiateWithFlags({what})");
        _graphs.Add((graph, new SafeCudaGraphExecHandle(_ctx.Handle, exec)));
        return _graphs.Count - 1;
    }

    public void LaunchGraph(int graph)
    {
        int status = CudaDriver.cuGraphLaunch(_graphs[graph].Exec.DangerousGetHandle(), _stream.Raw);
        if (status != 0)
        {
            CudaDriver.Check(status, $"cuGraphLaunch(graph {graph})");
        }
    }

    public void Dispose()
    {
        foreach (var (graph, exec) in _graphs)
        {
            exec.Dispose();
            graph.Dispose();
        }

        foreach (var b in _buffers.Values)
        {
            b.Dispose();
        }

        foreach (var h in _pinned.Values)
        {
            h.Dispose();
        }

        _buffers.Clear();
        _pinned.Clear();
        _gemm?.Dispose();
        _kernels?.Dispose();
        _stream?.Dispose();
        _ctx.Dispose();
    }
}
