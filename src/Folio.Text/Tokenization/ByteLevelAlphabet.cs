namespace Folio.Text.Tokenization;

/// <summary>
/// GPT-2's reversible map from the 256 byte values to printable Unicode characters, so that
/// byte-level BPE vocabularies can be stored as text (space becomes 'Ġ', newline 'Ċ').
/// Printable Latin-1 bytes map to themselves; the rest take the code points from U+0100 upwards
/// in byte order. Every mapped character is a single UTF-16 code unit.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly short[] CharToByteTable = BuildCharToByte(ByteToCharTable);

    /// <summary>The highest code point the alphabet uses (exclusive bound for <see cref="TryGetByte"/>).</summary>
    private const int CharLimit = 0x200;

    public static char ByteToChar(byte value) => ByteToCharTable[value];

    public static bool TryGetByte(char c, out byte value)
    {
        if (c < CharLimit && CharToByteTable[c] >= 0)
        {
            value = (byte)CharToByteTable[c];
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Maps UTF-8 bytes to their alphabet characters; <paramref name="destination"/> must be as long as the input.</summary>
    public static void Encode(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[i] = ByteToCharTable[bytes[i]];
        }
    }

    /// <summary>The alphabet form of a byte string (allocates; for building vocabularies, not for hot paths).</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (span, b) => Encode(b, span));
    }

    /// <summary>Decodes alphabet text back to bytes; false if any character is outside the alphabet.</summary>
    public static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            if (!TryGetByte(text[i], out bytes[i]))
            {
                bytes = [];
                return false;
            }
        }

        return true;
    }

    private static bool IsPrintableLatin1(int b) =>
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            table[b] = IsPrintableLatin1(b) ? (char)b : (char)next++;
        }

        return table;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var table = new short[CharLimit];
        Array.Fill(table, (short)-1);
        for (var b = 0; b < 256; b++)
        {
            table[byteToChar[b]] = (short)b;
        }

        return table;
    }
}
