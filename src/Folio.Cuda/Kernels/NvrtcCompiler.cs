using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Folio.Cuda.Interop;

namespace Folio.Cuda.Kernels;

/// <summary>The outcome of compiling one source for one architecture.</summary>
public sealed record KernelCompileResult(string FileName, string Arch, bool Success, string Log, byte[] Ptx, IReadOnlyList<string> Entries, TimeSpan Elapsed, bool FromCache)
{
    /// <summary>NVRTC said nothing: no error and no warning.</summary>
    public bool Clean => Success && string.IsNullOrWhiteSpace(Log);
}

/// <summary>
/// Compiles native-kernels/*.cu to PTX with NVRTC. PTX for compute_XY runs on devices of compute
/// capability XY and later (the driver JIT-compiles it), so an NVRTC that predates a device still
/// serves it through an older virtual architecture.
/// </summary>
public static unsafe class NvrtcCompiler
{
    /// <summary>NVRTC's version, or a CudaUnavailableException saying what to install.</summary>
    public static (int Major, int Minor) Version()
    {
        NativeLibraries.Load(NativeLibraries.Nvrtc);
        Nvrtc.Check(Nvrtc.nvrtcVersion(out int major, out int minor), "nvrtcVersion");
        return (major, minor);
    }

    /// <summary>The compute capabilities this NVRTC can target, e.g. 80, 86, 90.</summary>
    public static IReadOnlyList<int> SupportedArchs()
    {
        NativeLibraries.Load(NativeLibraries.Nvrtc);
        Nvrtc.Check(Nvrtc.nvrtcGetNumSupportedArchs(out int n), "nvrtcGetNumSupportedArchs");
        var archs = new int[n];
        fixed (int* p = archs)
        {
            Nvrtc.Check(Nvrtc.nvrtcGetSupportedArchs(p), "nvrtcGetSupportedArchs");
        }

        return archs;
    }

    /// <summary>Parses "sm_80", "compute_90", "80" or "8.0" into 80.</summary>
    public static int ParseArch(string text)
    {
        string t = text.Trim().ToLowerInvariant().Replace("sm_", "", StringComparison.Ordinal).Replace("compute_", "", StringComparison.Ordinal).Replace(".", "", StringComparison.Ordinal);
        return int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= 30
            ? v
            : throw new ArgumentException($"'{text}' is not a CUDA architecture (write sm_80, sm_90, ...)");
    }

    public static string[] Options(int arch) => [$"--gpu-architecture=compute_{arch}", "-std=c++17", "--restrict"];

    public static KernelCompileResult Compile(KernelSource source, int arch, string? cacheDirectory = null)
    {
        var (major, minor) = Version();
        string[] options = Options(arch);
        string key = CacheKey(source, options, major, minor);
        string? cacheFile = cacheDirectory is null ? null : Path.Combine(cacheDirectory, $"{Path.GetFileNameWithoutExtension(source.FileName)}-compute_{arch}-{key}.ptx");
        if (cacheFile is not null && File.Exists(cacheFile))
        {
            byte[] cached = File.ReadAllBytes(cacheFile);
            return new KernelCompileResult(source.FileName, $"compute_{arch}", true, "", cached, EntryNames(cached), TimeSpan.Zero, FromCache: true);
        }

        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var src = new Utf8(source.Text);
        using var name = new Utf8(source.FileName);
        using var header = new Utf8(KernelSources.Header);
        using var headerName = new Utf8(KernelSources.HeaderName);
        var opts = options.Select(o => new Utf8(o)).ToArray();
        nint program = 0;
        try
        {
            byte** headers = stackalloc byte*[1];
            byte** includeNames = stackalloc byte*[1];
            headers[0] = header.Pointer;
            includeNames[0] = headerName.Pointer;
            Nvrtc.Check(Nvrtc.nvrtcCreateProgram(out program, src.Pointer, name.Pointer, 1, headers, includeNames), $"nvrtcCreateProgram({source.FileName})");
            byte** optPtrs = stackalloc byte*[opts.Length];
            for (int i = 0; i < opts.Length; i++)
            {
                optPtrs[i] = opts[i].Pointer;
            }

            int status = Nvrtc.nvrtcCompileProgram(program, opts.Length, optPtrs);
            string log = ProgramLog(program);
            if (status != 0)
            {
                string statusName = Nvrtc.StatusName(status);
                return new KernelCompileResult(source.FileName, $"compute_{arch}", false, string.IsNullOrWhiteSpace(log) ? statusName : statusName + ": " + log, [], [], sw.Elapsed, false);
            }

            Nvrtc.Check(Nvrtc.nvrtcGetPTXSize(program, out nuint size), "nvrtcGetPTXSize");
            var ptx = new byte[(int)size];
            fixed (byte* p = ptx)
            {
                Nvrtc.Check(Nvrtc.nvrtcGetPTX(program, p), "nvrtcGetPTX");
            }

            int end = Array.IndexOf(ptx, (byte)0);
            if (end >= 0)
            {
                ptx = ptx[..end];
            }

            if (cacheFile is not null && string.IsNullOrWhiteSpace(log))
            {
                Directory.CreateDirectory(cacheDirectory!);
                string tmp = cacheFile + "." + Environment.ProcessId + ".tmp";
                File.WriteAllBytes(tmp, ptx);
                File.Move(tmp, cacheFile, overwrite: true);
            }

            return new KernelCompileResult(source.FileName, $"compute_{arch}", true, log, ptx, EntryNames(ptx), sw.Elapsed, false);
        }
        finally
        {
            if (program != 0)
            {
                _ = Nvrtc.nvrtcDestroyProgram(ref program);
            }

            foreach (var o in opts)
            {
                o.Dispose();
            }
        }
    }

    /// <summary>The kernels a PTX text defines (".entry name(").</summary>
    public static IReadOnlyList<string> EntryNames(byte[] ptx)
    {
        var names = new List<string>();
        foreach (var line in Encoding.UTF8.GetString(ptx).Split('\n'))
        {
            int at = line.IndexOf(".entry ", StringComparison.Ordinal);
            if (at >= 0)
            {
                string rest = line[(at + 7)..].Trim();
                int paren = rest.IndexOf('(', StringComparison.Ordinal);
                names.Add(paren >= 0 ? rest[..paren].Trim() : rest);
            }
        }

        return names;
    }

    /// <summary>Default on-disk PTX cache: $FOLIO_KERNEL_CACHE, else ~/.cache/folio/kernels.</summary>
    public static string DefaultCacheDirectory() =>
        Environment.GetEnvironmentVariable("FOLIO_KERNEL_CACHE") is { Length: > 0 } d
            ? d
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "folio", "kernels");

    private static string CacheKey(KernelSource source, string[] options, int major, int minor)
    {
        var text = source.Text + "\0" + KernelSources.Header + "\0" + string.Join(' ', options) + $"\0nvrtc {major}.{minor}";
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();
    }

    private static string ProgramLog(nint program)
    {
        Nvrtc.Check(Nvrtc.nvrtcGetProgramLogSize(program, out nuint size), "nvrtcGetProgramLogSize");
        if (size <= 1)
        {
            return "";
        }

        var buf = new byte[(int)size];
        fixed (byte* p = buf)
        {
            Nvrtc.Check(Nvrtc.nvrtcGetProgramLog(program, p), "nvrtcGetProgramLog");
        }

        return Encoding.UTF8.GetString(buf, 0, Math.Max(0, Array.IndexOf(buf, (byte)0) is int z && z >= 0 ? z : buf.Length)).Trim();
    }

    /// <summary>A NUL-terminated UTF-8 copy in native memory.</summary>
    private sealed class Utf8 : IDisposable
    {
        public Utf8(string s)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            Pointer = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
            bytes.CopyTo(new Span<byte>(Pointer, bytes.Length));
            Pointer[bytes.Length] = 0;
        }

        public byte* Pointer { get; private set; }

        public void Dispose()
        {
            if (Pointer != null)
            {
                NativeMemory.Free(Pointer);
                Pointer = null;
            }
        }
    }
}
