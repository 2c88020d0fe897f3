using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;
namespace Folio.ModelTools;

/// <summary>
/// Learns BPE merges from word counts, deterministically: each step merges the most frequent
/// adjacent pair, ties going to the ordinally smallest (left, right). When the text has nothing
/// left to merge, filler merges of existing tokens (pairs in a fixed order) make up the size, so
/// that any vocabulary size can be reached with merges that stay consistent with the tokens.
/// </summary>
internal static class BpeLearner
{
    /// <param name="words">Distinct words with their counts, each as its initial symbols (modified in place).</param>
    /// <param name="vocab">The tokens so far, in id order (new tokens are appended).</param>
    /// <param name="merges">Receives "left right" merges in priority order.</param>
    /// <param name="wanted">How many tokens to add.</param>
    /// <param name="fillerAllowed">Which filler tokens may be made (learned ones are never filtered).</param>
    public static void Learn(List<(List<string> Symbols, int Count)> words, List<string> vocab, List<string> merges, int wanted, Func<string, bool>? fillerAllowed = null)
    {
        var known = new HashSet<string>(vocab, StringComparer.Ordinal);
        var added = 0;
        var pairCounts = new Dictionary<(string Left, string Right), int>();
        while (added < wanted)
        {
            pairCounts.Clear();
            foreach (var (symbols, count) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + count;
                }
            }

            if (pairCounts.Count == 0)
            {
                break;
            }

            var best = default((string Left, string Right));
            var bestCount = 0;
            foreach (var (pair, count) in pairCounts)
            {
                if (count > bestCount || (count == bestCount && ComparePairs(pair, best) < 0))
                {
                    best = pair;
                    bestCount = count;
                }
            }

            var merged = best.Left + best.Right;
            foreach (var (symbols, _) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == best.Left && symbols[i + 1] == best.Right)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }

            merges.Add(best.Left + " " + best.Right);
            if (known.Add(merged))
            {
                vocab.Add(merged);
                added++;
            }
        }

        AddFiller(vocab, known, merges, wanted - added, fillerAllowed ?? (_ => true));
    }

    private static int ComparePairs((string Left, string Right) a, (string Left, string Right) b)
    {
        var left = string.CompareOrdinal(a.Left, b.Left);
        return left != 0 ? left : string.CompareOrdinal(a.Right, b.Right);
    }

    private static void AddFiller(List<string> vocab, HashSet<string> known, List<string> merges, int wanted, Func<string, bool> allowed)
    {
        // Pairs (i, k) and (k, i) for k = 0, 1, 2, ... over the growing token list: unbounded, and
        // every merge joins two existing tokens into a new one.
        for (var k = 0; wanted > 0; k++)
        {
            for (var i = 0; i <= k && wanted > 0; i++)
            {
                TryAdd(vocab[i], vocab[k]);
                if (i != k && wanted > 0)
                {
                    TryAdd(vocab[k], vocab[i]);
                }
            }
        }

        void TryAdd(string left, string right)
        {
            var merged = left + right;
            if (merged.Length > 32 || !allowed(merged) || !known.Add(merged))
            {
                return;
            }

            vocab.Add(merged);
            merges.Add(left + " " + right);
            wanted--;
        }
    }
}
