using System.Runtime.InteropServices;

namespace Folio.Cpu;

/// <summary>The C library calls the CPU backend makes (Linux only; elsewhere they are skipped).</summary>
internal static unsafe partial class LibC
{
    private const int MadvDontNeed = 4;

    /// <summary>
    /// Drops the whole pages inside [start, start + length) of a read-only file mapping from this
    /// process's resident set (madvise MADV_DONTNEED). Reading them again faults them back in from
    /// the file, so this is only for mappings of unmodified files. Returns false when the call failed
    /// or is not available; nothing depends on it but the resident size.
    /// </summary>
    public static bool ReleaseFilePages(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return false;
        }

        long page = Environment.SystemPageSize;
        long first = ((long)start + page - 1) / page * page;
        long end = ((long)start + length) / page * page;
        return end <= first || Madvise((nint)first, (nuint)(end - first), MadvDontNeed) == 0;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
