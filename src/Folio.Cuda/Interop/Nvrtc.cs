using System.Runtime.InteropServices;

namespace Folio.Cuda.Interop;

/// <summary>NVIDIA's run-time CUDA compiler (libnvrtc): turns the .cu sources into PTX without a toolkit.</summary>
internal static unsafe partial class Nvrtc
{
    private const string Lib = NativeLibraries.Nvrtc;

    [LibraryImport(Lib)] internal static partial int nvrtcVersion(out int major, out int minor);
    [LibraryImport(Lib)] internal static partial int nvrtcGetNumSupportedArchs(out int count);
    [LibraryImport(Lib)] internal static partial int nvrtcGetSupportedArchs(int* archs);
    [LibraryImport(Lib)] internal static partial byte* nvrtcGetErrorString(int result);
    [LibraryImport(Lib)] internal static partial int nvrtcCreateProgram(out nint program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(Lib)] internal static partial int nvrtcDestroyProgram(ref nint program);
    [LibraryImport(Lib)] internal static partial int nvrtcCompileProgram(nint program, int numOptions, byte** options);
    [LibraryImport(Lib)] internal static partial int nvrtcGetPTXSize(nint program, out nuint size);
    [LibraryImport(Lib)] internal static partial int nvrtcGetPTX(nint program, byte* ptx);
    [LibraryImport(Lib)] internal static partial int nvrtcGetProgramLogSize(nint program, out nuint size);
    [LibraryImport(Lib)] internal static partial int nvrtcGetProgramLog(nint program, byte* log);

    public static void Check(int status, string call, string? detail = null)
    {
        if (status != 0)
        {
            throw new CudaException(call, status, StatusName(status), detail);
        }
    }

    public static string StatusName(int status)
    {
        try
        {
            byte* p = nvrtcGetErrorString(status);
            if (p != null)
            {
                return Marshal.PtrToStringUTF8((nint)p) ?? KnownName(status);
            }
        }
        catch (CudaUnavailableException)
        {
        }

        return KnownName(status);
    }

    internal static string KnownName(int status) => status switch
    {
        0 => "NVRTC_SUCCESS",
        1 => "NVRTC_ERROR_OUT_OF_MEMORY",
        2 => "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
        3 => "NVRTC_ERROR_INVALID_INPUT",
        4 => "NVRTC_ERROR_INVALID_PROGRAM",
        5 => "NVRTC_ERROR_INVALID_OPTION",
        6 => "NVRTC_ERROR_COMPILATION",
        7 => "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
        11 => "NVRTC_ERROR_INTERNAL_ERROR",
        _ => "nvrtcResult " + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
