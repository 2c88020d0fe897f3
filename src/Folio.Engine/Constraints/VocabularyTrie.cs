namespace Folio.Engine.Constraints;

/// <summary>
/// The trie of a vocabulary's sorted token texts: node n is a byte prefix, its subtree's tokens are
/// the sorted indices [Start[n], End[n]), the first <see cref="Ending"/>[n] of which end exactly at
/// n. A walk can drop a whole subtree in one step when its prefix is rejected, which is what keeps
/// the per-position precomputation proportional to the tokens that get anywhere.
/// </summary>
internal sealed class VocabularyTrie
{
    public VocabularyTrie(VocabularyIndex vocab)
    {
        var sorted = vocab.SortedIds;
        var lcp = vocab.Lcp;
        var start = new List<int> { 0 };
        var end = new List<int> { sorted.Length };
        var ending = new List<int> { 0 };
        var label = new List<byte> { 0 };
        var firstChild = new List<int> { -1 };
        var nextSibling = new List<int> { -1 };
        var lastChild = new List<int> { -1 };
        var path = new List<int> { 0 }; // path[d]: the node at depth d on the current token's path
        for (int i = 0; i < sorted.Length; i++)
        {
            var bytes = vocab.Bytes(sorted[i]);
            int keep = Math.Min(lcp[i], path.Count - 1);
            for (int d = path.Count - 1; d > keep; d--)
            {
                end[path[d]] = i;
            }

            path.RemoveRange(keep + 1, path.Count - keep - 1);
            for (int d = keep; d < bytes.Length; d++)
            {
                int parent = path[d];
                int node = start.Count;
                start.Add(i);
                end.Add(sorted.Length);
                ending.Add(0);
                label.Add(bytes[d]);
                firstChild.Add(-1);
                nextSibling.Add(-1);
                lastChild.Add(-1);
                if (lastChild[parent] < 0)
                {
                    firstChild[parent] = node;
                }
                else
                {
                    nextSibling[lastChild[parent]] = node;
                }

                lastChild[parent] = node;
                path.Add(node);
            }

            ending[path[bytes.Length]]++;
        }

        Start = [.. start];
        End = [.. end];
        Ending = [.. ending];
        Label = [.. label];
        FirstChild = [.. firstChild];
        NextSibling = [.. nextSibling];
        MaxDepth = vocab.SortedIds.Length == 0 ? 0 : vocab.SortedIds.Max(id => vocab.Bytes(id).Length);
    }

    public int[] Start { get; }

    public int[] End { get; }

    public int[] Ending { get; }

    public byte[] Label { get; }

    public int[] FirstChild { get; }

    public int[] NextSibling { get; }

    public int MaxDepth { get; }

    public int NodeCount => Start.Length;
}
