using System.Runtime.InteropServices;
using System.Text;
using Folio.Cuda.Interop;

namespace Folio.Cuda;

/// <summary>What a probe found: a usable device, or why there is none (in words a user can act on).</summary>
public sealed record CudaProbe(bool Available, string Message, int DeviceCount, string? DeviceName, int Major, int Minor, long TotalMemory, int DriverVersion);

/// <summary>
/// One device and its context: memory, streams, modules. Every call binds the context to the
/// calling thread first, so a context can be used from whichever thread drives the engine.
/// </summary>
public sealed unsafe class CudaContext : IDisposable
{
    private CudaContext(int ordinal, int device, SafeCudaContextHandle handle)
    {
        Ordinal = ordinal;
        Device = device;
        Handle = handle;
        Name = DeviceName(device);
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int major, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device), "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int minor, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device), "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int smem, CudaDriver.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device), "cuDeviceGetAttribute(MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)");
        CudaDriver.Check(CudaDriver.cuDeviceTotalMem(out nuint total, device), "cuDeviceTotalMem");
        Major = major;
        Minor = minor;
        MaxSharedMemoryPerBlock = smem;
        TotalMemory = (long)total;
    }

    public int Ordinal { get; }
    public int Device { get; }
    public string Name { get; }
    public int Major { get; }
    public int Minor { get; }
    public long TotalMemory { get; }
    public int MaxSharedMemoryPerBlock { get; }
    internal SafeCudaContextHandle Handle { get; }

    /// <summary>Finds out, without throwing, whether a CUDA device answers here.</summary>
    public static CudaProbe Probe()
    {
        try
        {
            NativeLibraries.Load(NativeLibraries.Cuda);
            int status = CudaDriver.cuInit(0);
            if (status != 0)
            {
                return new CudaProbe(false, $"cuInit failed: {CudaDriver.StatusName(status)} ({status}): the NVIDIA driver is installed but no usable GPU answers", 0, null, 0, 0, 0, 0);
            }

            CudaDriver.Check(CudaDriver.cuDriverGetVersion(out int driver), "cuDriverGetVersion");
            CudaDriver.Check(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
            if (count == 0)
            {
                return new CudaProbe(false, "the NVIDIA driver reports no CUDA device", 0, null, 0, 0, 0, driver);
            }

            CudaDriver.Check(CudaDriver.cuDeviceGet(out int dev, 0), "cuDeviceGet");
            CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int major, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
            CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int minor, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
            CudaDriver.Check(CudaDriver.cuDeviceTotalMem(out nuint total, dev), "cuDeviceTotalMem");
            string name = DeviceName(dev);
            return new CudaProbe(true, $"{count} device(s); device 0: {name}, compute capability {major}.{minor}, {total / (1024 * 1024)} MiB, driver {driver / 1000}.{driver % 1000 / 10}", count, name, major, minor, (long)total, driver);
        }
        catch (CudaUnavailableException e)
        {
            return new CudaProbe(false, "no CUDA driver: " + e.Message, 0, null, 0, 0, 0, 0);
        }
        catch (CudaException e)
        {
            return new CudaProbe(false, e.Message, 0, null, 0, 0, 0, 0);
        }
    }

    /// <summary>Opens device <paramref name="ordinal"/> with a fresh context (CudaUnavailableException when there is no driver).</summary>
    public static CudaContext Create(int ordinal = 0)
    {
        NativeLibraries.Load(NativeLibraries.Cuda);
        CudaDriver.Check(CudaDriver.cuInit(0), "cuInit");
        CudaDriver.Check(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count)
        {
            throw new CudaUnavailableException($"CUDA device {ordinal} does not exist ({count} device(s) present)");
        }

        CudaDriver.Check(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet");
        CudaDriver.Check(CudaDriver.cuCtxCreate(out nint ctx, 0, device), "cuCtxCreate");
        return new CudaContext(ordinal, device, new SafeCudaContextHandle(ctx));
    }

    public void MakeCurrent() => Handle.MakeCurrent();

    public void Synchronize()
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemGetInfo(out nuint free, out nuint total), "cuMemGetInfo");
        return ((long)free, (long)total);
    }

    public DeviceBuffer Allocate(long bytes)
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemAlloc(out ulong p, (nuint)Math.Max(bytes, 1)), $"cuMemAlloc({bytes} bytes)");
        return new DeviceBuffer(new SafeDeviceMemoryHandle(Handle, p), bytes);
    }

    public CudaStream CreateStream()
    {
        MakeCurrent();
        CudaDriver.Check(CudaDriver.cuStreamCreate(out nint s, CudaDriver.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        return new CudaStream(new SafeCudaStreamHandle(Handle, s));
    }

    /// <summary>Loads PTX (NUL-terminated text) or a cubin; the driver JIT-compiles PTX for this device.</summary>
    public CudaModule LoadModule(ReadOnlySpan<byte> image, string name)
    {
        MakeCurrent();
        var buffer = new byte[image.Length + 1];
        image.CopyTo(buffer);
        fixed (byte* p = buffer)
        {
            CudaDriver.Check(CudaDriver.cuModuleLoadData(out nint module, p), $"cuModuleLoadData({name})");
            return new CudaModule(new SafeCudaModuleHandle(Handle, module), name);
        }
    }

    public void Dispose() => Handle.Dispose();

    private static string DeviceName(int device)
    {
        byte* buf = stackalloc byte[256];
        CudaDriver.Check(CudaDriver.cuDeviceGetName(buf, 256, device), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((nint)buf) ?? "?";
    }
}

/// <summary>Device memory; the pointer stays valid until Dispose.</summary>
public sealed unsafe class DeviceBuffer : IDisposable
{
    internal DeviceBuffer(SafeDeviceMemoryHandle handle, long bytes)
    {
        Handle = handle;
        Bytes = bytes;
    }

    public long Bytes { get; }
    public ulong Pointer => (ulong)Handle.DangerousGetHandle();
    internal SafeDeviceMemoryHandle Handle { get; }

    public void Upload<T>(ReadOnlySpan<T> source, long byteOffset = 0)
        where T : unmanaged
    {
        long n = (long)source.Length * sizeof(T);
        CheckRange(byteOffset, n);
        Handle.Context.MakeCurrent();
        fixed (T* p = source)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyHtoD(Pointer + (ulong)byteOffset, p, (nuint)n), "cuMemcpyHtoD");
        }
    }

    public void Download<T>(Span<T> destination, long byteOffset = 0)
        where T : unmanaged
    {
        long n = (long)destination.Length * sizeof(T);
        CheckRange(byteOffset, n);
        Handle.Context.MakeCurrent();
        fixed (T* p = destination)
        {
            CudaDriver.Check(CudaDriver.cuMemcpyDtoH(p, Pointer + (ulong)byteOffset, (nuint)n), "cuMemcpyDtoH");
        }
    }

    public void Clear()
    {
        Handle.Context.MakeCurrent();
        CudaDriver.Check(CudaDriver.cuMemsetD8(Pointer, 0, (nuint)Bytes), "cuMemsetD8");
    }

    public void Dispose() => Handle.Dispose();

    private void CheckRange(long offset, long n)
    {
        if (offset < 0 || offset + n > Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"copy of {n} bytes at {offset} exceeds the {Bytes}-byte device buffer");
        }
    }
}

public sealed class CudaStream : IDisposable
{
    internal CudaStream(SafeCudaStreamHandle handle) => Handle = handle;

    internal SafeCudaStreamHandle Handle { get; }
    public nint Raw => Handle.DangerousGetHandle();

    public void Synchronize() => CudaDriver.Check(CudaDriver.cuStreamSynchronize(Raw), "cuStreamSynchronize");

    public void Dispose() => Handle.Dispose();
}

/// <summary>A loaded module; kernels are looked up by their extern "C" names.</summary>
public sealed unsafe class CudaModule : IDisposable
{
    internal CudaModule(SafeCudaModuleHandle handle, string name)
    {
        Handle = handle;
        Name = name;
    }

    public string Name { get; }
    internal SafeCudaModuleHandle Handle { get; }

    public CudaKernel GetKernel(string name)
    {
        Handle.Context.MakeCurrent();
        byte[] utf8 = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = utf8)
        {
            CudaDriver.Check(CudaDriver.cuModuleGetFunction(out nint f, Handle.DangerousGetHandle(), p), $"cuModuleGetFunction({Name}: {name})");
            return new CudaKernel(this, f, name);
        }
    }

    public void Dispose() => Handle.Dispose();
}
