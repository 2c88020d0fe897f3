using System.Text;
using Folio.Testing;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// "No prompt or user-supplied text in logs at any level, and no raw control characters where input
/// is quoted": checks on captured log entries, error-queue headers and error messages.
/// </summary>
internal static class UserTextChecks
{
    /// <summary>No entry's message (or exception text) holds <paramref name="marker"/>; no message holds a control character.</summary>
    public static void AssertLogsClean(IReadOnlyList<CapturedLog> entries, string marker)
    {
        foreach (var e in entries)
        {
            Assert.False(e.Message.Contains(marker, StringComparison.OrdinalIgnoreCase), $"user text reached the log at {e.Level}: {Printable(e.Message)}");
            if (e.Exception is { } ex)
            {
                Assert.False(ex.ToString().Contains(marker, StringComparison.OrdinalIgnoreCase), $"user text reached a logged exception at {e.Level}: {Printable(ex.Message)}");
            }

            AssertNoControlCharacters(e.Message, $"log line at {e.Level}");
        }
    }

    /// <summary>Every header value (as UTF-8 text) is free of the marker and of control characters.</summary>
    public static void AssertHeadersClean(IDictionary<string, object?>? headers, string marker, string what)
    {
        foreach (var kv in headers ?? new Dictionary<string, object?>())
        {
            string value = kv.Value switch
            {
                byte[] b => Encoding.UTF8.GetString(b),
                null => string.Empty,
                var v => v.ToString() ?? string.Empty,
            };
            Assert.False(value.Contains(marker, StringComparison.OrdinalIgnoreCase), $"{what}: header {kv.Key} quotes user text: {Printable(value)}");
            AssertNoControlCharacters(value, $"{what}: header {kv.Key}");
        }
    }

    public static void AssertNoControlCharacters(string text, string what)
    {
        foreach (char c in text)
        {
            Assert.False(char.IsControl(c), $"{what} holds control character U+{(int)c:X4}: {Printable(text)}");
        }
    }

    /// <summary>The text with control characters shown as \uXXXX, for failure messages that must not forge output themselves.</summary>
    public static string Printable(string s)
    {
        var sb = new StringBuilder(Math.Min(s.Length, 400));
        foreach (char c in s.Length > 400 ? s[..400] : s)
        {
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:X4}" : c);
        }

        return sb.ToString();
    }
}
