namespace Folio.Text.Tokenization;

/// <summary>
/// Produces an explicit merge list for vocabularies that define merging another way: by rank
/// (tiktoken files, where a token's id is its merge order) or by score (SentencePiece). Needed
/// to write such a vocabulary into formats that store merges (GGUF gpt2, tokenizer.json).
/// </summary>
public static class MergeDerivation
{
    /// <summary>
    /// For each multi-byte token in id order, the one pair that BPE restricted to lower ids merges
    /// into it: the merge list that makes a merges-based tokenizer equal the rank-based one.
    /// </summary>
    public static IReadOnlyList<string> FromRanks(IReadOnlyList<string> tokens, IReadOnlyList<int> tokenTypes)
    {
        var vocab = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (var id = 0; id < tokens.Count; id++)
        {
            if (tokenTypes[id] is GgufTokenType.Normal or GgufTokenType.Byte or GgufTokenType.Undefined)
            {
                vocab.TryAdd(tokens[id], id);
            }
        }

        var lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        var merger = new BpeMerger();
        var merges = new List<string>();
        var lengths = new int[64];
        var ids = new int[64];
        for (var id = 0; id < tokens.Count; id++)
        {
            var token = tokens[id];
            if (token.Length < 2 || !vocab.TryGetValue(token, out var own) || own != id)
            {
                continue;
            }

            if (lengths.Length < token.Length)
            {
                lengths = new int[token.Length];
                ids = new int[token.Length];
            }

            for (var i = 0; i < token.Length; i++)
            {
                lengths[i] = 1;
                ids[i] = lookup.TryGetValue(token.AsSpan(i, 1), out var c) ? c : -1;
            }

            merger.Merge(token, lengths.AsSpan(0, token.Length), ids.AsSpan(0, token.Length), new BelowRankPolicy(lookup, id));
            if (merger.Result.Count == 2 && merger.Result[0].Id >= 0 && merger.Result[1].Id >= 0)
            {
                var (start, length, _) = merger.Result[0];
                merges.Add(string.Concat(token.AsSpan(start, length), " ", token.AsSpan(length)));
            }
        }

        return merges;
    }

    /// <summary>
    /// Every split of every normal token into two normal tokens, ordered by the merged token's
    /// score (highest first), then by the parts' ids: the merge list Hugging Face derives from a
    /// SentencePiece model, which makes merges-based BPE agree with score-based merging.
    /// </summary>
    public static IReadOnlyList<string> FromScores(IReadOnlyList<string> tokens, IReadOnlyList<int> tokenTypes, IReadOnlyList<float> scores)
    {
        var vocab = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (var id = 0; id < tokens.Count; id++)
        {
            if (tokenTypes[id] is GgufTokenType.Normal or GgufTokenType.Undefined)
            {
                vocab.TryAdd(tokens[id], id);
            }
        }

        var candidates = new List<(float Score, int Merged, int Left, int Right, string Text)>();
        foreach (var (token, id) in vocab)
        {
            for (var split = 1; split < token.Length; split++)
            {
                if (char.IsLowSurrogate(token[split]))
                {
                    continue; // never split a surrogate pair
                }

                var left = token[..split];
                var right = token[split..];
                if (vocab.TryGetValue(left, out var l) && vocab.TryGetValue(right, out var r))
                {
                    candidates.Add((scores[id], id, l, r, left + " " + right));
                }
            }
        }

        return candidates
            .OrderByDescending(c => c.Score)
            .ThenBy(c => c.Merged)
            .ThenBy(c => c.Left)
            .ThenBy(c => c.Right)
            .Select(c => c.Text)
            .ToList();
    }

    private readonly struct BelowRankPolicy(Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocab, int limit) : IMergePolicy
    {
        public bool TryMerge(int leftId, int rightId, ReadOnlySpan<char> merged, out int priority, out int mergedId)
        {
            if (vocab.TryGetValue(merged, out mergedId) && mergedId < limit)
            {
                priority = mergedId;
                return true;
            }

            priority = 0;
            return false;
        }
    }
}
