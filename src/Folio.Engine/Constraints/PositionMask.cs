namespace Folio.Engine.Constraints;

/// <summary>
/// What one automaton position decides about every token on its own, XGrammar's "adaptive token
/// mask" idea: tokens accepted whatever lies below the position on the stack, tokens rejected
/// whatever lies below (not stored), and uncertain tokens, which complete the position's rule
/// partway and whose remaining bytes (the suffix after each point where the rule can complete)
/// must be checked against the real stack at run time. Suffixes are deduplicated and sorted so the
/// run-time check walks their trie once per step. Immutable.
/// </summary>
internal sealed class PositionMask
{
    /// <summary>Accepted tokens as a bitmap when that is smaller than a list, else null.</summary>
    public required ulong[]? AcceptedBits { get; init; }

    /// <summary>Accepted token ids when <see cref="AcceptedBits"/> is null.</summary>
    public required int[] AcceptedIds { get; init; }

    public required int[] UncertainIds { get; init; }

    /// <summary>Suffix references of uncertain token u: SuffixRefs[SuffixRefStart[u]..SuffixRefStart[u + 1]).</summary>
    public required int[] SuffixRefStart { get; init; }

    public required int[] SuffixRefs { get; init; }

    /// <summary>Unique suffixes in bytewise order: bytes SuffixBytes[SuffixStart[s]..SuffixStart[s + 1]).</summary>
    public required byte[] SuffixBytes { get; init; }

    public required int[] SuffixStart { get; init; }

    /// <summary>Bytes suffix s shares with suffix s - 1.</summary>
    public required int[] SuffixLcp { get; init; }

    public int SuffixCount => SuffixLcp.Length;

    public ReadOnlySpan<byte> Suffix(int s) => SuffixBytes.AsSpan(SuffixStart[s], SuffixStart[s + 1] - SuffixStart[s]);

    /// <summary>Approximate bytes held, for the cache's accounting.</summary>
    public long Bytes => ((AcceptedBits?.Length ?? 0) * 8L) + (AcceptedIds.Length * 4L) + (UncertainIds.Length * 8L) + (SuffixRefs.Length * 4L) + SuffixBytes.Length + (SuffixStart.Length * 8L);
}
