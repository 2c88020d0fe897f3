using Microsoft.Win32.SafeHandles;

namespace Folio.Cpu.Tests.Support;

/// <summary>
/// Which pages of a range of this process's address space are mapped in its page tables, read from
/// /proc/self/pagemap (bit 63 of each page's 64-bit entry: present; readable without privileges,
/// which only hides the frame numbers). Unlike mincore, which reports the page cache, this says what
/// the process itself has faulted in.
/// </summary>
internal static unsafe class PageMap
{
    private const int PageSize = 4096;

    public static long PresentBytes(byte* start, long length) => PresentPages(start, length).Present * (long)PageSize;

    public static double PresentFraction(byte* start, long length)
    {
        var (present, total) = PresentPages(start, length);
        return total == 0 ? 0 : (double)present / total;
    }

    private static (long Present, long Total) PresentPages(byte* start, long length)
    {
        if (length <= 0)
        {
            return (0, 0);
        }

        long first = (long)start / PageSize;
        long last = ((long)start + length - 1) / PageSize;
        long pages = last - first + 1;
        var entries = new byte[pages * 8];
        using SafeFileHandle handle = File.OpenHandle("/proc/self/pagemap");
        int read = 0;
        while (read < entries.Length)
        {
            int n = RandomAccess.Read(handle, entries.AsSpan(read), (first * 8) + read);
            if (n <= 0)
            {
                throw new IOException($"/proc/self/pagemap: short read at page {first + (read / 8)}");
            }

            read += n;
        }

        long present = 0;
        for (long p = 0; p < pages; p++)
        {
            if ((BitConverter.ToUInt64(entries, (int)(p * 8)) & (1UL << 63)) != 0)
            {
                present++;
            }
        }

        return (present, pages);
    }
}
