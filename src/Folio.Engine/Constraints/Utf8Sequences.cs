namespace Folio.Engine.Constraints;

/// <summary>
/// Turns a set of code points into byte-range sequences that match exactly their UTF-8 forms: each
/// sequence is one range per byte, and every combination of bytes in the ranges is one member (the
/// classic split used by RE2 and Rust's utf8-ranges). Token texts are bytes, so the automata are too.
/// </summary>
internal static class Utf8Sequences
{
    public static List<(byte Lo, byte Hi)[]> Of(CodePointSet set)
    {
        var result = new List<(byte Lo, byte Hi)[]>();
        foreach (var (lo, hi) in set.Ranges)
        {
            Split(lo, hi, result);
        }

        return result;
    }

    private static void Split(int lo, int hi, List<(byte Lo, byte Hi)[]> result)
    {
        if (lo > hi)
        {
            return;
        }

        // One encoded length per piece.
        foreach (int boundary in (ReadOnlySpan<int>)[0x7F, 0x7FF, 0xFFFF])
        {
            if (lo <= boundary && boundary < hi)
            {
                Split(lo, boundary, result);
                Split(boundary + 1, hi, result);
                return;
            }
        }

        if (hi < 0x80)
        {
            result.Add([((byte)lo, (byte)hi)]);
            return;
        }

        int length = Length(lo);

        // Split until every byte after the first differing one spans the whole continuation range.
        for (int i = 1; i < length; i++)
        {
            int mask = (1 << (6 * i)) - 1;
            if ((lo & ~mask) != (hi & ~mask))
            {
                if ((lo & mask) != 0)
                {
                    Split(lo, lo | mask, result);
                    Split((lo | mask) + 1, hi, result);
                    return;
                }

                if ((hi & mask) != mask)
                {
                    Split(lo, (hi & ~mask) - 1, result);
                    Split(hi & ~mask, hi, result);
                    return;
                }
            }
        }

        Span<byte> a = stackalloc byte[4];
        Span<byte> b = stackalloc byte[4];
        Encode(lo, a);
        Encode(hi, b);
        var seq = new (byte Lo, byte Hi)[length];
        for (int i = 0; i < length; i++)
        {
            seq[i] = (a[i], b[i]);
        }

        result.Add(seq);
    }

    private static int Length(int cp) => cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

    private static void Encode(int cp, Span<byte> bytes)
    {
        switch (Length(cp))
        {
            case 1:
                bytes[0] = (byte)cp;
                break;
            case 2:
                bytes[0] = (byte)(0xC0 | (cp >> 6));
                bytes[1] = (byte)(0x80 | (cp & 0x3F));
                break;
            case 3:
                bytes[0] = (byte)(0xE0 | (cp >> 12));
                bytes[1] = (byte)(0x80 | ((cp >> 6) & 0x3F));
                bytes[2] = (byte)(0x80 | (cp & 0x3F));
                break;
            default:
                bytes[0] = (byte)(0xF0 | (cp >> 18));
                bytes[1] = (byte)(0x80 | ((cp >> 12) & 0x3F));
                bytes[2] = (byte)(0x80 | ((cp >> 6) & 0x3F));
                bytes[3] = (byte)(0x80 | (cp & 0x3F));
                break;
        }
    }
}
