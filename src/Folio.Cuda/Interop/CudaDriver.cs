using System.Runtime.InteropServices;

namespace Folio.Cuda.Interop;

/// <summary>
/// The CUDA driver API (libcuda, installed with the NVIDIA driver). Raw imports return the
/// CUresult; callers go through <see cref="Check"/> so every failure names the call and status.
/// Versioned symbols (_v2) are the ones the current headers map the plain names to.
/// </summary>
internal static unsafe partial class CudaDriver
{
    private const string Lib = NativeLibraries.Cuda;

    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public const int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    public const int CU_STREAM_NON_BLOCKING = 1;
    public const int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

    [LibraryImport(Lib)] internal static partial int cuInit(uint flags);
    [LibraryImport(Lib)] internal static partial int cuDriverGetVersion(out int version);
    [LibraryImport(Lib)] internal static partial int cuGetErrorName(int error, out byte* name);
    [LibraryImport(Lib)] internal static partial int cuGetErrorString(int error, out byte* text);

    [LibraryImport(Lib)] internal static partial int cuDeviceGetCount(out int count);
    [LibraryImport(Lib)] internal static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Lib)] internal static partial int cuDeviceGetName(byte* name, int len, int device);
    [LibraryImport(Lib)] internal static partial int cuDeviceGetAttribute(out int value, int attribute, int device);
    [LibraryImport(Lib, EntryPoint = "cuDeviceTotalMem_v2")] internal static partial int cuDeviceTotalMem(out nuint bytes, int device);

    [LibraryImport(Lib, EntryPoint = "cuCtxCreate_v2")] internal static partial int cuCtxCreate(out nint ctx, uint flags, int device);
    [LibraryImport(Lib, EntryPoint = "cuCtxDestroy_v2")] internal static partial int cuCtxDestroy(nint ctx);
    [LibraryImport(Lib)] internal static partial int cuCtxSetCurrent(nint ctx);
    [LibraryImport(Lib)] internal static partial int cuCtxSynchronize();

    [LibraryImport(Lib)] internal static partial int cuModuleLoadData(out nint module, byte* image);
    [LibraryImport(Lib)] internal static partial int cuModuleUnload(nint module);
    [LibraryImport(Lib)] internal static partial int cuModuleGetFunction(out nint function, nint module, byte* name);
    [LibraryImport(Lib)] internal static partial int cuLaunchKernel(nint f, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ, uint sharedMemBytes, nint stream, void** kernelParams, void** extra);

    [LibraryImport(Lib, EntryPoint = "cuMemAlloc_v2")] internal static partial int cuMemAlloc(out ulong dptr, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemFree_v2")] internal static partial int cuMemFree(ulong dptr);
    [LibraryImport(Lib, EntryPoint = "cuMemGetInfo_v2")] internal static partial int cuMemGetInfo(out nuint free, out nuint total);
    [LibraryImport(Lib, EntryPoint = "cuMemAllocHost_v2")] internal static partial int cuMemAllocHost(out nint p, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cuMemFreeHost(nint p);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoD_v2")] internal static partial int cuMemcpyHtoD(ulong dst, void* src, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoH_v2")] internal static partial int cuMemcpyDtoH(void* dst, ulong src, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoD_v2")] internal static partial int cuMemcpyDtoD(ulong dst, ulong src, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoDAsync_v2")] internal static partial int cuMemcpyHtoDAsync(ulong dst, void* src, nuint bytes, nint stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoHAsync_v2")] internal static partial int cuMemcpyDtoHAsync(void* dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoDAsync_v2")] internal static partial int cuMemcpyDtoDAsync(ulong dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib, EntryPoint = "cuMemsetD8_v2")] internal static partial int cuMemsetD8(ulong dst, byte value, nuint count);

    [LibraryImport(Lib)] internal static partial int cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuStreamDestroy_v2")] internal static partial int cuStreamDestroy(nint stream);
    [LibraryImport(Lib)] internal static partial int cuStreamSynchronize(nint stream);
    [LibraryImport(Lib, EntryPoint = "cuStreamBeginCapture_v2")] internal static partial int cuStreamBeginCapture(nint stream, int mode);
    [LibraryImport(Lib)] internal static partial int cuStreamEndCapture(nint stream, out nint graph);

    [LibraryImport(Lib)] internal static partial int cuGraphInstantiateWithFlags(out nint graphExec, nint graph, ulong flags);
    [LibraryImport(Lib)] internal static partial int cuGraphLaunch(nint graphExec, nint stream);
    [LibraryImport(Lib)] internal static partial int cuGraphDestroy(nint graph);
    [LibraryImport(Lib)] internal static partial int cuGraphExecDestroy(nint graphExec);

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> when <paramref name="status"/> is not CUDA_SUCCESS.</summary>
    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new CudaException(call, status, StatusName(status), StatusText(status));
        }
    }

    public static string StatusName(int status)
    {
        try
        {
            if (cuGetErrorName(status, out byte* p) == 0 && p != null)
            {
                return Marshal.PtrToStringUTF8((nint)p) ?? KnownName(status);
            }
        }
        catch (CudaUnavailableException)
        {
        }

        return KnownName(status);
    }

    private static string? StatusText(int status)
    {
        try
        {
            return cuGetErrorString(status, out byte* p) == 0 && p != null ? Marshal.PtrToStringUTF8((nint)p) : null;
        }
        catch (CudaUnavailableException)
        {
            return null;
        }
    }

    /// <summary>CUresult names from cuda.h, for when the driver cannot name its own error.</summary>
    internal static string KnownName(int status) => status switch
    {
        0 => "CUDA_SUCCESS",
        1 => "CUDA_ERROR_INVALID_VALUE",
        2 => "CUDA_ERROR_OUT_OF_MEMORY",
        3 => "CUDA_ERROR_NOT_INITIALIZED",
        4 => "CUDA_ERROR_DEINITIALIZED",
        100 => "CUDA_ERROR_NO_DEVICE",
        101 => "CUDA_ERROR_INVALID_DEVICE",
        200 => "CUDA_ERROR_INVALID_IMAGE",
        201 => "CUDA_ERROR_INVALID_CONTEXT",
        209 => "CUDA_ERROR_NO_BINARY_FOR_GPU",
        218 => "CUDA_ERROR_INVALID_PTX",
        222 => "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
        400 => "CUDA_ERROR_INVALID_HANDLE",
        500 => "CUDA_ERROR_NOT_FOUND",
        600 => "CUDA_ERROR_NOT_READY",
        700 => "CUDA_ERROR_ILLEGAL_ADDRESS",
        701 => "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
        702 => "CUDA_ERROR_LAUNCH_TIMEOUT",
        719 => "CUDA_ERROR_LAUNCH_FAILED",
        803 => "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
        900 => "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
        901 => "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
        999 => "CUDA_ERROR_UNKNOWN",
        _ => "CUresult " + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
