using System.Text;

namespace Folio.Engine.Constraints;

/// <summary>
/// Computes <see cref="PositionMask"/>s: walks the whole sorted vocabulary (its trie) from a stack
/// holding only the position above an unknown <see cref="StackTable.Base"/>. Stack sets reached
/// while walking are interned as configurations with a memoised transition per byte, so the many
/// trie branches that stay inside, say, a JSON string cost one table lookup per byte. Not
/// thread-safe: each thread building masks uses its own builder.
/// </summary>
internal sealed class PositionMaskBuilder
{
    private const int Unknown = -1;
    private const int Dead = 0;
    /// <summary>Configurations memoised before the memo starts over (each holds a transition per byte class).</summary>
    private const int MaxConfigs = 32_768;

    private readonly ByteAutomaton _automaton;
    private readonly int _classCount;
    private readonly VocabularyIndex _vocab;
    private readonly StackTable _table = new();
    private readonly StackRunner _runner;
    private readonly List<int[]> _configs = [];
    private readonly Dictionary<ConfigKey, int> _configIds = [];
    private int[] _trans = [];
    private readonly IntList _src = new();
    private readonly IntList _dst = new();
    private readonly ulong[] _follow;
    private readonly byte[] _path;
    private int _followBase;
    private readonly bool[] _popAt;
    private readonly bool[] _popUpTo;

    public PositionMaskBuilder(ByteAutomaton automaton, VocabularyIndex vocab)
    {
        _automaton = automaton;
        _classCount = automaton.ClassCount;
        _vocab = vocab;
        _runner = new StackRunner(automaton, _table);
        int maxLen = Math.Max(1, vocab.Trie.MaxDepth);
        _follow = automaton.Follow;
        _path = new byte[maxLen + 1];
        _popAt = new bool[maxLen + 1];
        _popUpTo = new bool[maxLen + 1];
        ResetMemo();
    }

    public PositionMask Build(int position)
    {
        if (_configs.Count > MaxConfigs)
        {
            ResetMemo();
        }

        _followBase = _automaton.PositionRule[position] * 4;

        var result = new Classes();
        _popAt[0] = false;
        _popUpTo[0] = false;
        Visit(0, 0, InternConfig([_table.Intern(position, StackTable.Base)]), result);
        result.RefStart.Add(result.Refs.Count);
        return Assemble(result.Accepted, result.Uncertain, result.RefStart, result.Refs, result.SuffixIds);
    }

    private sealed class Classes
    {
        public List<int> Accepted { get; } = [];

        public List<int> Uncertain { get; } = [];

        public List<int> RefStart { get; } = [];

        public List<int> Refs { get; } = [];

        public Dictionary<string, int> SuffixIds { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Classifies the tokens of trie node <paramref name="node"/> (depth <paramref name="depth"/>, reached in configuration <paramref name="config"/>).</summary>
    private void Visit(int node, int depth, int config, Classes result)
    {
        var trie = _vocab.Trie;
        var sorted = _vocab.SortedIds;
        if (depth > 0)
        {
            for (int k = trie.Start[node]; k < trie.Start[node] + trie.Ending[node]; k++)
            {
                if (config != Dead)
                {
                    result.Accepted.Add(sorted[k]);
                }
                else if (_popUpTo[depth])
                {
                    AddUncertain(sorted[k], depth, result);
                }
            }
        }

        for (int child = trie.FirstChild[node]; child >= 0; child = trie.NextSibling[child])
        {
            _path[depth] = trie.Label[child];
            int t = Transition(config, trie.Label[child]);
            int next = t >> 1;
            _popAt[depth + 1] = (t & 1) != 0;
            _popUpTo[depth + 1] = _popUpTo[depth] || _popAt[depth + 1];
            if (next != Dead)
            {
                Visit(child, depth + 1, next, result);
            }
            else if (_popUpTo[depth + 1])
            {
                // Dead here, but the rule could complete on the way: tokens below may fit what lies
                // below on the stack. A completion before this byte needs the path's next byte to be
                // in FOLLOW: if none does, only a completion on this very byte is left, and then the
                // byte after it must be in FOLLOW (or the token ends here).
                _path[depth] = trie.Label[child];
                bool earlierFits = false;
                for (int k = 1; k <= depth && !earlierFits; k++)
                {
                    earlierFits = _popAt[k] && Follows(_path[k]);
                }

                if (earlierFits)
                {
                    AddUncertainRange(trie.Start[child], trie.End[child], depth + 1, result);
                }
                else if (_popAt[depth + 1])
                {
                    AddUncertainRange(trie.Start[child], trie.Start[child] + trie.Ending[child], depth + 1, result);
                    for (int g = trie.FirstChild[child]; g >= 0; g = trie.NextSibling[g])
                    {
                        if (Follows(trie.Label[g]))
                        {
                            AddUncertainRange(trie.Start[g], trie.End[g], depth + 1, result);
                        }
                    }
                }
            }

            // else: the whole subtree is rejected whatever lies below; nothing to store.
        }
    }

    private bool Follows(byte b) => (_follow[_followBase + (b >> 6)] & (1UL << (b & 63))) != 0;

    private void AddUncertainRange(int from, int to, int deadDepth, Classes result)
    {
        for (int k = from; k < to; k++)
        {
            AddUncertain(_vocab.SortedIds[k], deadDepth, result);
        }
    }

    private void AddUncertain(int tokenId, int deadDepth, Classes result)
    {
        var bytes = _vocab.Bytes(tokenId);
        int refsBefore = result.Refs.Count;
        for (int k = 1; k <= deadDepth; k++)
        {
            if (_popAt[k] && (k == bytes.Length || Follows(bytes[k])))
            {
                string suffix = Encoding.Latin1.GetString(bytes[k..]);
                if (!result.SuffixIds.TryGetValue(suffix, out int s))
                {
                    s = result.SuffixIds.Count;
                    result.SuffixIds[suffix] = s;
                }

                result.Refs.Add(s);
            }
        }

        if (result.Refs.Count > refsBefore)
        {
            result.Uncertain.Add(tokenId);
            result.RefStart.Add(refsBefore);
        }
    }

    private PositionMask Assemble(List<int> accepted, List<int> uncertain, List<int> refStart, List<int> refs, Dictionary<string, int> suffixIds)
    {
        // Suffixes in bytewise order (Latin-1 keeps byte order under ordinal comparison).
        var ordered = suffixIds.Keys.Order(StringComparer.Ordinal).ToArray();
        var rank = new int[ordered.Length];
        var suffixStart = new int[ordered.Length + 1];
        var suffixLcp = new int[ordered.Length];
        var suffixBytes = new List<byte>();
        for (int s = 0; s < ordered.Length; s++)
        {
            rank[suffixIds[ordered[s]]] = s;
            suffixStart[s] = suffixBytes.Count;
            suffixBytes.AddRange(Encoding.Latin1.GetBytes(ordered[s]));
            suffixLcp[s] = s == 0 ? 0 : ordered[s - 1].AsSpan().CommonPrefixLength(ordered[s]);
        }

        suffixStart[ordered.Length] = suffixBytes.Count;
        for (int r = 0; r < refs.Count; r++)
        {
            refs[r] = rank[refs[r]];
        }

        ulong[]? bits = null;
        int[] ids = [.. accepted];
        if (accepted.Count * 4L > _vocab.MaskWords * 8L)
        {
            bits = new ulong[_vocab.MaskWords];
            foreach (int id in accepted)
            {
                bits[id >> 6] |= 1UL << (id & 63);
            }

            ids = [];
        }

        return new PositionMask
        {
            AcceptedBits = bits,
            AcceptedIds = ids,
            UncertainIds = [.. uncertain],
            SuffixRefStart = [.. refStart],
            SuffixRefs = [.. refs],
            SuffixBytes = [.. suffixBytes],
            SuffixStart = suffixStart,
            SuffixLcp = suffixLcp,
        };
    }

    /// <summary>(next configuration &lt;&lt; 1) | (1 if the base rule completed on the way).</summary>
    private int Transition(int config, byte b)
    {
        // Transitions depend only on the byte's class: the memo row per configuration is that wide.
        int slot = (config * _classCount) + _automaton.ByteClass[b];
        int t = _trans[slot];
        if (t != Unknown)
        {
            return t;
        }

        _src.Clear();
        foreach (int node in _configs[config])
        {
            _src.Add(node);
        }

        _dst.Clear();
        _runner.Step(_src, 0, _src.Count, b, _dst);
        _dst.Sort();
        int next = InternConfig(_dst.Span);
        t = (next << 1) | (_runner.PoppedBase ? 1 : 0);
        _trans[slot] = t;
        return t;
    }

    private int InternConfig(ReadOnlySpan<int> nodes)
    {
        var key = new ConfigKey(nodes.ToArray());
        if (_configIds.TryGetValue(key, out int id))
        {
            return id;
        }

        id = _configs.Count;
        _configs.Add(key.Nodes);
        _configIds[key] = id;
        if (_trans.Length < _configs.Count * _classCount)
        {
            int old = _trans.Length;
            Array.Resize(ref _trans, Math.Max(_configs.Count * _classCount, old * 2));
            _trans.AsSpan(old).Fill(Unknown);
        }

        return id;
    }

    private void ResetMemo()
    {
        _table.Clear();
        _configs.Clear();
        _configIds.Clear();
        _trans = new int[64 * _classCount];
        _trans.AsSpan().Fill(Unknown);
        int dead = InternConfig([]);
        _trans.AsSpan(dead * _classCount, _classCount).Clear(); // the dead configuration stays dead, without a pop
    }

    private readonly struct ConfigKey(int[] nodes) : IEquatable<ConfigKey>
    {
        private readonly int _hash = Hash(nodes);

        public int[] Nodes { get; } = nodes;

        public bool Equals(ConfigKey other) => _hash == other._hash && Nodes.AsSpan().SequenceEqual(other.Nodes);

        public override bool Equals(object? obj) => obj is ConfigKey other && Equals(other);

        public override int GetHashCode() => _hash;

        private static int Hash(int[] nodes)
        {
            var h = default(HashCode);
            foreach (int n in nodes)
            {
                h.Add(n);
            }

            return h.ToHashCode();
        }
    }
}
