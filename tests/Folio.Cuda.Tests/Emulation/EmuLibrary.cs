using System.Reflection;
using System.Runtime.InteropServices;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// Finds native-kernels/build/libfolio_kernels_emu.so (built by native-kernels/build-emu.sh, which
/// this test project's BuildEmulatedKernels target runs before every build) and points the
/// "folio_kernels_emu" imports at it.
/// </summary>
internal static class EmuLibrary
{
    public const string Name = "folio_kernels_emu";
    private static readonly Lazy<string> Path = new(Resolve);

    public static string FilePath => Path.Value;

    /// <summary>Call before any emulated kernel: throws with what to run when the library is missing.</summary>
    public static void EnsureLoaded() => _ = Path.Value;

    private static string Resolve()
    {
        string? root = FindRepositoryRoot();
        string? file = root is null ? null : System.IO.Path.Combine(root, "native-kernels", "build", "libfolio_kernels_emu.so");
        if (file is null || !File.Exists(file))
        {
            throw new InvalidOperationException(
                $"the emulated kernel library is missing ({file ?? "native-kernels/ not found above " + AppContext.BaseDirectory}): " +
                "run native-kernels/build-emu.sh (needs g++ with C++20); the test project's build normally runs it");
        }

        nint handle = NativeLibrary.Load(file);
        NativeLibrary.SetDllImportResolver(typeof(EmuLibrary).Assembly, (name, _, _) => name == Name ? handle : 0);
        return file;
    }

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(System.IO.Path.Combine(dir.FullName, "native-kernels")) && File.Exists(System.IO.Path.Combine(dir.FullName, "Worker.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
