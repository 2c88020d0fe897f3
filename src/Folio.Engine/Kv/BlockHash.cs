namespace Folio.Engine.Kv;

/// <summary>
/// The prefix-cache key of a full block: a 64-bit hash chained over the parent block's hash and
/// this block's token ids, so equal keys mean (barring a collision) an equal whole prefix. A
/// collision cannot change a result because a hit is also checked token by token and by parent.
/// </summary>
public static class BlockHash
{
    /// <summary>The parent hash of a sequence's first block.</summary>
    public const ulong Root = 0x6A09E667F3BCC909UL;

    private const ulong P1 = 0x9E3779B185EBCA87UL;
    private const ulong P2 = 0xC2B2AE3D27D4EB4FUL;

    public static ulong Compute(ulong parent, ReadOnlySpan<int> tokens)
    {
        ulong h = Mix(parent ^ P2) + (ulong)tokens.Length * P1;
        foreach (int t in tokens)
        {
            h ^= Mix((ulong)(uint)t * P2 + P1);
            h = ulong.RotateLeft(h, 27) * P1 + 0x52DCE729UL;
        }

        return Mix(h);
    }

    /// <summary>MurmurHash3's 64-bit finaliser: every input bit affects every output bit.</summary>
    public static ulong Mix(ulong z)
    {
        z ^= z >> 33;
        z *= 0xFF51AFD7ED558CCDUL;
        z ^= z >> 33;
        z *= 0xC4CEB9FE1A85EC53UL;
        z ^= z >> 33;
        return z;
    }
}
