using System.Reflection;
using System.Runtime.InteropServices;

namespace Folio.Cuda.Interop;

/// <summary>
/// Finds NVIDIA's libraries at run time, where CUDA installs usually put them: CUDA_HOME /
/// CUDA_PATH, /usr/local/cuda, the pip nvidia-* wheels (nvidia/cublas/lib, nvidia/cuda_nvrtc/lib),
/// Debian's multiarch folder, container driver mounts, and finally the loader's own search by
/// soname. Resolves the logical names of the [LibraryImport]s in this assembly.
/// </summary>
internal static class NativeLibraries
{
    public const string Cuda = "folio-cuda";
    public const string Nvrtc = "folio-nvrtc";
    public const string Cublas = "folio-cublas";

    private static readonly Dictionary<string, Lazy<nint>> Handles = new(StringComparer.Ordinal)
    {
        [Cuda] = new(() => LoadOrThrow(Cuda)),
        [Nvrtc] = new(() => LoadOrThrow(Nvrtc)),
        [Cublas] = new(() => LoadOrThrow(Cublas)),
    };

    private static int _registered;

    /// <summary>Sonames tried for each library, newest first.</summary>
    public static IReadOnlyList<string> Sonames(string library) => library switch
    {
        Cuda => ["libcuda.so.1", "libcuda.so"],
        Nvrtc => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so.11.1", "libnvrtc.so.11.0", "libnvrtc.so"],
        Cublas => ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        _ => throw new ArgumentOutOfRangeException(nameof(library), library, "not a CUDA library name"),
    };

    /// <summary>What to install when a library is absent.</summary>
    public static string InstallHint(string library) => library switch
    {
        Cuda => "libcuda comes with the NVIDIA driver: this machine has no NVIDIA driver (or no GPU); install the driver, or in a container run with the NVIDIA container toolkit (--gpus all)",
        Nvrtc => "install NVRTC: Debian 'apt-get install libnvrtc11.2' (non-free; see native-kernels/install-nvrtc.sh), 'pip install nvidia-cuda-nvrtc-cu12', or the CUDA toolkit (set CUDA_HOME)",
        Cublas => "install cuBLAS: 'pip install nvidia-cublas-cu12', Debian 'apt-get install libcublas12' (non-free), or the CUDA toolkit (set CUDA_HOME)",
        _ => "",
    };

    /// <summary>Folders searched before the loader's default search, in order.</summary>
    public static IEnumerable<string> SearchDirectories()
    {
        foreach (var env in new[] { "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT" })
        {
            if (Environment.GetEnvironmentVariable(env) is { Length: > 0 } root)
            {
                yield return Path.Combine(root, "lib64");
                yield return Path.Combine(root, "lib");
            }
        }

        yield return "/usr/local/cuda/lib64";
        foreach (var sitePackages in PythonSitePackages())
        {
            foreach (var sub in new[] { "cuda_nvrtc", "cublas", "cuda_runtime", "cu13", "cu12" })
            {
                yield return Path.Combine(sitePackages, "nvidia", sub, "lib");
            }
        }

        yield return "/usr/lib/x86_64-linux-gnu";
        yield return "/usr/local/nvidia/lib64";
        yield return "/usr/lib/wsl/lib";
    }

    private static IEnumerable<string> PythonSitePackages()
    {
        var roots = new List<string>();
        if (Environment.GetEnvironmentVariable("VIRTUAL_ENV") is { Length: > 0 } venv)
        {
            roots.Add(Path.Combine(venv, "lib"));
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        roots.AddRange(["/usr/local/lib", "/usr/lib", Path.Combine(home, ".local", "lib"), "/opt/conda/lib"]);
        foreach (var root in roots)
        {
            if (!Directory.Exists(root))
            {
                continue;
            }

            string[] pythons;
            try
            {
                pythons = Directory.GetDirectories(root, "python3*");
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var py in pythons)
            {
                yield return Path.Combine(py, "site-packages");
                yield return Path.Combine(py, "dist-packages");
            }
        }
    }

    /// <summary>Loads the first soname found in <paramref name="directories"/>, then by the loader's search; 0 and the places tried when none loads.</summary>
    public static nint TryLoad(IReadOnlyList<string> sonames, IEnumerable<string> directories, out List<string> tried)
    {
        tried = [];
        foreach (var dir in directories)
        {
            foreach (var so in sonames)
            {
                string path = Path.Combine(dir, so);
                if (File.Exists(path))
                {
                    tried.Add(path);
                    if (NativeLibrary.TryLoad(path, out nint h))
                    {
                        return h;
                    }
                }
            }
        }

        foreach (var so in sonames)
        {
            tried.Add(so);
            if (NativeLibrary.TryLoad(so, out nint h))
            {
                return h;
            }
        }

        return 0;
    }

    /// <summary>The library's handle, or a <see cref="CudaUnavailableException"/> that says what to install.</summary>
    public static nint Load(string library)
    {
        Register();
        return Handles[library].Value;
    }

    /// <summary>True when the library loads (used to report, never to decide silently).</summary>
    public static bool IsAvailable(string library, out string? problem)
    {
        try
        {
            Load(library);
            problem = null;
            return true;
        }
        catch (CudaUnavailableException e)
        {
            problem = e.Message;
            return false;
        }
    }

    /// <summary>Hooks the resolver for this assembly's imports (idempotent).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        Handles.TryGetValue(name, out var lazy) ? lazy.Value : 0;

    private static nint LoadOrThrow(string library)
    {
        var sonames = Sonames(library);
        nint h = TryLoad(sonames, SearchDirectories().Distinct(StringComparer.Ordinal), out var tried);
        if (h != 0)
        {
            return h;
        }

        throw new CudaUnavailableException(
            $"{sonames[0]} could not be loaded (tried {string.Join(", ", tried.Take(12))}{(tried.Count > 12 ? ", ..." : "")}): {InstallHint(library)}");
    }
}
