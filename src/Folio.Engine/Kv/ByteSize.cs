using System.Globalization;

namespace Folio.Engine.Kv;

/// <summary>
/// Parses memory sizes as people write them in configuration ("2GiB", "512MiB", "1.5GB", "4096").
/// Binary suffixes (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (KB, MB, GB, TB) powers of
/// 1000, a bare number is bytes. Shared by the CLI and the worker's Folio:Engine:KvCacheMemory.
/// </summary>
public static class ByteSize
{
    private static readonly (string Suffix, double Factor)[] Units =
    [
        ("KiB", 1024d), ("MiB", 1024d * 1024), ("GiB", 1024d * 1024 * 1024), ("TiB", 1024d * 1024 * 1024 * 1024),
        ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12),
        ("K", 1024d), ("M", 1024d * 1024), ("G", 1024d * 1024 * 1024),
        ("B", 1d),
    ];

    /// <summary>Parses <paramref name="text"/>; <paramref name="what"/> names the setting in the error message.</summary>
    public static long Parse(string text, string what)
    {
        if (TryParse(text, out long bytes))
        {
            return bytes;
        }

        throw new FormatException($"{what}: '{text}' is not a memory size; write a number with a unit such as \"2GiB\", \"512MiB\" or \"1000000B\"");
    }

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string s = text.Trim();
        double factor = 1;
        foreach (var (suffix, f) in Units)
        {
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                factor = f;
                s = s[..^suffix.Length].TrimEnd();
                break;
            }
        }

        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0 || double.IsNaN(value))
        {
            return false;
        }

        double total = value * factor;
        if (total > long.MaxValue)
        {
            return false;
        }

        bytes = (long)total;
        return true;
    }

    /// <summary>A short human form, e.g. "1.50 GiB".</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }

        return u == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.00} {units[u]}");
    }
}
