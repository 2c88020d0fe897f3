namespace Folio.Text.Chat;

/// <summary>Python's str.strip family, which transformers applies to the final message (its whitespace set differs from .NET's by U+001C..U+001F).</summary>
internal static class PythonText
{
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    public static string Strip(string s) => LStrip(RStrip(s));

    public static string LStrip(string s)
    {
        var start = 0;
        while (start < s.Length && IsSpace(s[start]))
        {
            start++;
        }

        return s[start..];
    }

    public static string RStrip(string s)
    {
        var end = s.Length;
        while (end > 0 && IsSpace(s[end - 1]))
        {
            end--;
        }

        return s[..end];
    }
}
