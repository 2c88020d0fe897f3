namespace Folio.Text.Tokenization;

/// <summary>Turns "left right" merge lines into (left id, right id) -> (rank, merged id).</summary>
internal static class MergeTable
{
    /// <summary>
    /// Splits a merge line at its first space after the first character (a token may itself
    /// start with a space in a vocabulary that keeps raw spaces), as llama.cpp does.
    /// </summary>
    public static bool TrySplit(string merge, out string left, out string right)
    {
        var space = merge.Length > 1 ? merge.IndexOf(' ', 1) : -1;
        if (space < 0)
        {
            left = right = "";
            return false;
        }

        left = merge[..space];
        right = merge[(space + 1)..];
        return true;
    }

    /// <summary>
    /// Merges whose parts or result are not tokens can never apply to token symbols and are left
    /// out; of duplicate pairs the first (highest priority) is kept.
    /// </summary>
    public static Dictionary<long, (int Rank, int MergedId)> Build(IReadOnlyList<string> merges, Dictionary<string, int> vocab)
    {
        var table = new Dictionary<long, (int Rank, int MergedId)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            if (!TrySplit(merges[rank], out var left, out var right)
                || !vocab.TryGetValue(left, out var leftId)
                || !vocab.TryGetValue(right, out var rightId)
                || !vocab.TryGetValue(left + right, out var mergedId))
            {
                continue;
            }

            table.TryAdd(RankedMergePolicy.Key(leftId, rightId), (rank, mergedId));
        }

        return table;
    }
}
