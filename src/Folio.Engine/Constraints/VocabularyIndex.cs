using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Folio.Text.Tokenization;

namespace Folio.Engine.Constraints;

/// <summary>
/// A tokenizer's vocabulary as the constraint engine reads it, built once per tokenizer instance:
/// the byte texts of the tokens that can appear in constrained text (not special, not empty, not
/// EOS), sorted bytewise with the length of the prefix each shares with the one before (so a walk
/// over all tokens is a walk over their trie), a bitmap of those tokens, the EOS ids, and a content
/// hash that keys the compiled-constraint cache. Immutable and thread-safe.
/// </summary>
internal sealed class VocabularyIndex
{
    private static readonly ConditionalWeakTable<ITokenizer, VocabularyIndex> Cache = [];

    private VocabularyIndex(ITokenizer tokenizer)
    {
        VocabSize = tokenizer.VocabSize;
        var eos = new HashSet<int>(tokenizer.EosTokenIds.Where(t => t >= 0 && t < VocabSize));
        EosIds = [.. eos.Order()];
        var texts = new byte[VocabSize][];
        TokenStart = new int[VocabSize + 1];
        var all = new List<byte>();
        var eligible = new List<int>();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[5];
        for (int id = 0; id < VocabSize; id++)
        {
            bool special = tokenizer.IsSpecial(id);
            byte[] text = special ? [] : tokenizer.TokenBytes(id).ToArray();
            texts[id] = text;
            TokenStart[id] = all.Count;
            all.AddRange(text);
            if (!special && text.Length > 0 && !eos.Contains(id))
            {
                eligible.Add(id);
            }

            BitConverter.TryWriteBytes(header, text.Length);
            header[4] = (byte)((special ? 1 : 0) | (eos.Contains(id) ? 2 : 0));
            hash.AppendData(header);
            hash.AppendData(text);
        }

        TokenStart[VocabSize] = all.Count;
        TokenBytesFlat = [.. all];
        ContentHash = Convert.ToHexString(hash.GetHashAndReset());

        // Bytewise order (unsigned), ties by id: a deterministic trie order.
        var sorted = eligible.ToArray();
        Array.Sort(sorted, (a, b) =>
        {
            int c = texts[a].AsSpan().SequenceCompareTo(texts[b]);
            return c != 0 ? c : a.CompareTo(b);
        });
        SortedIds = sorted;
        Lcp = new int[sorted.Length];
        for (int i = 1; i < sorted.Length; i++)
        {
            Lcp[i] = texts[sorted[i - 1]].AsSpan().CommonPrefixLength(texts[sorted[i]]);
        }

        MaskWords = (VocabSize + 63) / 64;
        EligibleBits = new ulong[MaskWords];
        foreach (int id in eligible)
        {
            EligibleBits[id >> 6] |= 1UL << (id & 63);
        }

        IsEos = new bool[VocabSize];
        foreach (int id in EosIds)
        {
            IsEos[id] = true;
        }

        Trie = new VocabularyTrie(this);
        IsEligible = new bool[VocabSize];
        foreach (int id in eligible)
        {
            IsEligible[id] = true;
        }
    }

    public int VocabSize { get; }

    /// <summary>Words of a bitmask over the vocabulary (64 tokens a word).</summary>
    public int MaskWords { get; }

    public int[] EosIds { get; }

    public bool[] IsEos { get; }

    public bool[] IsEligible { get; }

    public ulong[] EligibleBits { get; }

    /// <summary>Eligible token ids in bytewise order of their texts.</summary>
    public int[] SortedIds { get; }

    /// <summary>Lcp[i]: bytes token SortedIds[i] shares with SortedIds[i - 1] (0 for the first).</summary>
    public int[] Lcp { get; }

    public string ContentHash { get; }

    public VocabularyTrie Trie { get; }

    private byte[] TokenBytesFlat { get; }

    private int[] TokenStart { get; }

    public ReadOnlySpan<byte> Bytes(int tokenId) => TokenBytesFlat.AsSpan(TokenStart[tokenId], TokenStart[tokenId + 1] - TokenStart[tokenId]);

    public static VocabularyIndex For(ITokenizer tokenizer) => Cache.GetValue(tokenizer, t => new VocabularyIndex(t));
}
