namespace Folio.Engine.Constraints;

/// <summary>
/// A set of Unicode scalar values as sorted, disjoint, non-adjacent inclusive ranges. Surrogates
/// (U+D800-U+DFFF) are never members: they have no UTF-8 form.
/// </summary>
internal sealed class CodePointSet
{
    public const int MaxCodePoint = 0x10FFFF;

    private readonly (int Lo, int Hi)[] _ranges;

    private CodePointSet((int Lo, int Hi)[] ranges) => _ranges = ranges;

    public static CodePointSet Empty { get; } = new([]);

    /// <summary>Every scalar value.</summary>
    public static CodePointSet All { get; } = FromRanges([(0, MaxCodePoint)]);

    public IReadOnlyList<(int Lo, int Hi)> Ranges => _ranges;

    public bool IsEmpty => _ranges.Length == 0;

    public static CodePointSet Single(int codePoint) => FromRanges([(codePoint, codePoint)]);

    /// <summary>Normalises any ranges (unsorted, overlapping) into a set, removing surrogates.</summary>
    public static CodePointSet FromRanges(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var sorted = ranges.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var merged = new List<(int Lo, int Hi)>();
        foreach (var (lo, hi) in sorted)
        {
            if (merged.Count > 0 && lo <= merged[^1].Hi + 1)
            {
                merged[^1] = (merged[^1].Lo, Math.Max(merged[^1].Hi, hi));
            }
            else
            {
                merged.Add((lo, hi));
            }
        }

        var result = new List<(int Lo, int Hi)>();
        foreach (var (lo, hi) in merged)
        {
            // Cut the surrogate block out.
            if (hi < 0xD800 || lo > 0xDFFF)
            {
                result.Add((lo, hi));
                continue;
            }

            if (lo < 0xD800)
            {
                result.Add((lo, 0xD7FF));
            }

            if (hi > 0xDFFF)
            {
                result.Add((0xE000, hi));
            }
        }

        return new CodePointSet([.. result]);
    }

    public CodePointSet Union(CodePointSet other) => FromRanges(_ranges.Concat(other._ranges));

    /// <summary>Every scalar value not in this set.</summary>
    public CodePointSet Complement()
    {
        var result = new List<(int Lo, int Hi)>();
        int next = 0;
        foreach (var (lo, hi) in _ranges)
        {
            if (lo > next)
            {
                result.Add((next, lo - 1));
            }

            next = hi + 1;
        }

        if (next <= MaxCodePoint)
        {
            result.Add((next, MaxCodePoint));
        }

        return FromRanges(result);
    }

    public CodePointSet Minus(CodePointSet other) => Complement().Union(other).Complement();

    public bool Contains(int codePoint)
    {
        foreach (var (lo, hi) in _ranges)
        {
            if (codePoint >= lo && codePoint <= hi)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The set of the characters of a string.</summary>
    public static CodePointSet Of(string chars) => FromRanges(chars.EnumerateRunes().Select(r => (r.Value, r.Value)));
}
