using System.Globalization;
using System.Text;

namespace Folio.Text.Unicode;

/// <summary>
/// Unicode Normalization Form C without ICU (Folio runs with invariant globalization, where
/// string.Normalize returns its input): full canonical decomposition, canonical ordering by
/// combining class, then canonical composition, over the tables in <see cref="NfcData"/>.
/// </summary>
public static class Nfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Load);

    /// <summary>The NFC form of <paramref name="text"/> (the same string when it is already NFC, which ASCII always is).</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Ascii.IsValid(text))
        {
            return text;
        }

        var tables = Data.Value;
        var cps = new List<int>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[i + 1]);
                i++;
            }

            Decompose(cp, cps, tables);
        }

        // Canonical ordering: a stable sort of each run of non-starters by combining class.
        for (var i = 1; i < cps.Count; i++)
        {
            var cc = Ccc(cps[i], tables);
            if (cc == 0)
            {
                continue;
            }

            for (var j = i; j > 0 && Ccc(cps[j - 1], tables) > cc; j--)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
            }
        }

        Compose(cps, tables);
        var sb = new StringBuilder(text.Length);
        foreach (var cp in cps)
        {
            sb.Append(char.ConvertFromUtf32(cp));
        }

        var result = sb.ToString();
        return result == text ? text : result;
    }

    private static int Ccc(int cp, Tables t) => t.Ccc.TryGetValue(cp, out var c) ? c : 0;

    private static void Decompose(int cp, List<int> output, Tables t)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            var s = cp - SBase;
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0)
            {
                output.Add(TBase + s % TCount);
            }

            return;
        }

        if (t.Decompositions.TryGetValue(cp, out var parts))
        {
            output.AddRange(parts);
        }
        else
        {
            output.Add(cp);
        }
    }

    private static void Compose(List<int> cps, Tables t)
    {
        if (cps.Count == 0)
        {
            return;
        }

        var starter = 0;
        var lastClass = Ccc(cps[0], t) == 0 ? 0 : 256;
        var write = 1;
        for (var read = 1; read < cps.Count; read++)
        {
            var cp = cps[read];
            var cc = Ccc(cp, t);
            var composite = Combine(cps[starter], cp, t);
            if (composite >= 0 && (lastClass < cc || lastClass == 0) && !(lastClass == 0 && write - 1 != starter))
            {
                cps[starter] = composite;
                continue;
            }

            if (cc == 0)
            {
                starter = write;
            }

            lastClass = cc;
            cps[write++] = cp;
        }

        cps.RemoveRange(write, cps.Count - write);
    }

    private static int Combine(int first, int second, Tables t)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            return SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
        }

        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            return first + (second - TBase);
        }

        return t.Compositions.TryGetValue(((long)first << 21) | (uint)second, out var c) ? c : -1;
    }

    private sealed record Tables(Dictionary<int, int[]> Decompositions, Dictionary<int, int> Ccc, Dictionary<long, int> Compositions);

    private static Tables Load()
    {
        static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var decompositions = new Dictionary<int, int[]>();
        foreach (var entry in NfcData.Decompositions.Split(';'))
        {
            var (key, value) = Pair(entry);
            decompositions[Hex(key)] = value.Split(' ').Select(Hex).ToArray();
        }

        var ccc = new Dictionary<int, int>();
        foreach (var entry in NfcData.CombiningClasses.Split(';'))
        {
            var (key, value) = Pair(entry);
            ccc[Hex(key)] = int.Parse(value, CultureInfo.InvariantCulture);
        }

        var compositions = new Dictionary<long, int>();
        foreach (var entry in NfcData.Compositions.Split(';'))
        {
            var (key, value) = Pair(entry);
            var pair = key.Split(' ');
            compositions[((long)Hex(pair[0]) << 21) | (uint)Hex(pair[1])] = Hex(value);
        }

        return new Tables(decompositions, ccc, compositions);
    }

    private static (string Key, string Value) Pair(string entry)
    {
        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        return (entry[..colon], entry[(colon + 1)..]);
    }
}
