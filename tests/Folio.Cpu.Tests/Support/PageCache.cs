using System.Runtime.InteropServices;

namespace Folio.Cpu.Tests.Support;

/// <summary>
/// The kernel's page cache and read-ahead, held still so a test can see which pages of a mapped file
/// a process really read: a file's cached pages dropped (fsync, then POSIX_FADV_DONTNEED), and a
/// mapped range marked MADV_RANDOM so a fault reads its own page only (this host reads ahead 8 MiB
/// around a fault and maps whole large folios, which would show neighbouring tensors as touched).
/// </summary>
internal static unsafe partial class PageCache
{
    private const int PosixFadvDontNeed = 4;
    private const int MadvRandom = 1;

    public static void Drop(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Flush(flushToDisk: true);
        int rc = PosixFadvise((int)file.SafeFileHandle.DangerousGetHandle(), 0, 0, PosixFadvDontNeed);
        if (rc != 0)
        {
            throw new IOException($"posix_fadvise(DONTNEED) on {path} failed: {rc}");
        }
    }

    /// <summary>Marks the pages covering [start, start + length) for random access (no read-around on faults).</summary>
    public static void NoReadAhead(byte* start, long length)
    {
        long first = (long)start & ~4095L;
        long end = ((long)start + length + 4095) & ~4095L;
        if (Madvise((nint)first, (nuint)(end - first), MadvRandom) != 0)
        {
            throw new IOException($"madvise(MADV_RANDOM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
