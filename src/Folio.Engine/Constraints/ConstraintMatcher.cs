using System.Numerics;
using System.Runtime.InteropServices;

namespace Folio.Engine.Constraints;

/// <summary>
/// One sequence's position in a <see cref="CompiledConstraint"/>: the set of parser stacks the
/// tokens so far allow. <see cref="FillAllowed"/> writes the tokens that may come next,
/// <see cref="TryAdvance"/> consumes one. Deterministic: the state, and so every mask, depends only
/// on the tokens consumed. Allocation-free per token once its buffers have grown to the constraint's
/// needs. Not thread-safe: one matcher per sequence; different matchers (even of the same compiled
/// constraint) may run on different threads at once.
/// </summary>
public sealed class ConstraintMatcher
{
    private readonly CompiledConstraint _constraint;
    private readonly ByteAutomaton _automaton;
    private readonly VocabularyIndex _vocab;
    private readonly StackTable _table = new();
    private readonly StackRunner _runner;
    private IntList _tops = new();
    private IntList _stepA = new();
    private IntList _stepB = new();
    private readonly IntList _group = new();
    private readonly IntList _parents = new();
    private readonly IntList _levels = new(256);
    private int[] _levelStart = new int[16];
    private bool[] _levelAccepting = new bool[16];
    private bool[] _suffixValid = new bool[16];
    private bool _accepting;

    internal ConstraintMatcher(CompiledConstraint constraint)
    {
        _constraint = constraint;
        _automaton = constraint.Automaton;
        _vocab = constraint.Vocabulary;
        _runner = new StackRunner(_automaton, _table);
        Reset();
    }

    public CompiledConstraint Constraint => _constraint;

    /// <summary>The output so far is complete: EOS is allowed now.</summary>
    public bool IsAccepting => _accepting && !IsTerminated;

    /// <summary>EOS was consumed: nothing may follow.</summary>
    public bool IsTerminated { get; private set; }

    /// <summary>No token can follow and the output is not complete (only a vocabulary that lacks the bytes a grammar needs gets here).</summary>
    public bool IsDeadEnd => !IsTerminated && _tops.Count == 0 && !_accepting;

    /// <summary>Tokens consumed since the start (EOS included).</summary>
    public int TokenCount { get; private set; }

    /// <summary>Back to the start of the output.</summary>
    public void Reset()
    {
        _table.Clear();
        _tops.Clear();
        _stepA.Clear();
        _stepA.Add(_table.Intern(_automaton.RootStart, StackTable.Root));
        _runner.Close(_stepA, 0, 1, _tops);
        _accepting = _runner.Accepting;
        IsTerminated = false;
        TokenCount = 0;
    }

    /// <summary>The state as values (tests probe every token from one state and come back).</summary>
    internal MatcherSnapshot Save() => new([.. _tops.Span], _accepting, IsTerminated, TokenCount);

    internal void Restore(MatcherSnapshot snapshot)
    {
        _tops.Clear();
        foreach (int node in snapshot.Tops)
        {
            _tops.Add(node);
        }

        _accepting = snapshot.Accepting;
        IsTerminated = snapshot.Terminated;
        TokenCount = snapshot.TokenCount;
    }

    /// <summary>Resets and consumes <paramref name="tokens"/>; false (with the failing index) if one does not follow.</summary>
    public bool TryReplay(ReadOnlySpan<int> tokens, out int failedAt)
    {
        Reset();
        for (int i = 0; i < tokens.Length; i++)
        {
            if (!TryAdvance(tokens[i]))
            {
                failedAt = i;
                return false;
            }
        }

        failedAt = -1;
        return true;
    }

    /// <summary>
    /// Consumes a token if the constraint allows it (exactly the tokens <see cref="FillAllowed"/>
    /// sets); returns false and leaves the state unchanged otherwise. EOS is allowed only when
    /// <see cref="IsAccepting"/>, and ends the matcher.
    /// </summary>
    public bool TryAdvance(int tokenId)
    {
        if (IsTerminated || (uint)tokenId >= (uint)_vocab.VocabSize)
        {
            return false;
        }

        if (_vocab.IsEos[tokenId])
        {
            if (!_accepting)
            {
                return false;
            }

            IsTerminated = true;
            _tops.Clear();
            TokenCount++;
            return true;
        }

        if (!_vocab.IsEligible[tokenId])
        {
            return false;
        }

        var bytes = _vocab.Bytes(tokenId);
        var src = _tops;
        var dst = _stepA;
        bool accepting = false;
        for (int i = 0; i < bytes.Length; i++)
        {
            dst.Clear();
            _runner.Step(src, 0, src.Count, bytes[i], dst);
            accepting = _runner.Accepting;
            if (dst.Count == 0 && !(accepting && i == bytes.Length - 1))
            {
                return false;
            }

            src = dst;
            dst = ReferenceEquals(dst, _stepA) ? _stepB : _stepA;
        }

        // src holds the new tops: swap it in, keeping three distinct buffers.
        if (ReferenceEquals(src, _stepA))
        {
            (_tops, _stepA) = (_stepA, _tops);
        }
        else
        {
            (_tops, _stepB) = (_stepB, _tops);
        }

        _accepting = accepting;
        TokenCount++;
        return true;
    }

    /// <summary>
    /// Clears <paramref name="bitmask"/> and sets bit t (word t / 64, bit t % 64) for every token t
    /// that may come next; EOS ids only when <see cref="IsAccepting"/>. Bits past the tokenizer's
    /// vocabulary stay clear. Returns the number of tokens allowed (0: the sequence cannot go on).
    /// </summary>
    public int FillAllowed(Span<ulong> bitmask)
    {
        if (bitmask.Length < _vocab.MaskWords)
        {
            throw new ArgumentException($"the bitmask has {bitmask.Length} words; the vocabulary of {_vocab.VocabSize} tokens needs {_vocab.MaskWords}", nameof(bitmask));
        }

        bitmask.Clear();
        if (IsTerminated)
        {
            return 0;
        }

        var words = bitmask[.._vocab.MaskWords];
        SortTopsByPosition();
        int i = 0;
        while (i < _group.Count)
        {
            int pos = _table.Position(_group[i]);
            int end = i + 1;
            while (end < _group.Count && _table.Position(_group[end]) == pos)
            {
                end++;
            }

            AddPosition(_constraint.MaskFor(pos), i, end, words);
            i = end;
        }

        if (_accepting)
        {
            foreach (int eos in _vocab.EosIds)
            {
                words[eos >> 6] |= 1UL << (eos & 63);
            }
        }

        int count = 0;
        foreach (ulong w in words)
        {
            count += BitOperations.PopCount(w);
        }

        return count;
    }

    private void SortTopsByPosition()
    {
        _group.CopyFrom(_tops);

        // Few tops (a handful of stacks): insertion sort by position, allocation-free.
        var items = _group.AsSpan();
        for (int a = 1; a < items.Length; a++)
        {
            int x = items[a];
            int px = _table.Position(x);
            int b = a - 1;
            while (b >= 0 && _table.Position(items[b]) > px)
            {
                items[b + 1] = items[b];
                b--;
            }

            items[b + 1] = x;
        }
    }

    private void AddPosition(PositionMask mask, int groupStart, int groupEnd, Span<ulong> words)
    {
        if (mask.AcceptedBits is { } bits)
        {
            OrInto(words, bits);
        }
        else
        {
            foreach (int id in mask.AcceptedIds)
            {
                words[id >> 6] |= 1UL << (id & 63);
            }
        }

        if (mask.UncertainIds.Length == 0)
        {
            return;
        }

        // What can follow once the position's rule completes: the closure of the group's parents.
        _parents.Clear();
        bool rootCompletes = false;
        for (int g = groupStart; g < groupEnd; g++)
        {
            int parent = _table.Parent(_group[g]);
            if (parent == StackTable.Root)
            {
                rootCompletes = true;
            }
            else
            {
                _parents.Add(parent);
            }
        }

        _levels.Clear();
        _runner.Close(_parents, 0, _parents.Count, _levels);
        EvaluateSuffixes(mask, rootCompletes || _runner.Accepting);
        var refStart = mask.SuffixRefStart;
        var refs = mask.SuffixRefs;
        var uncertain = mask.UncertainIds;
        for (int u = 0; u < uncertain.Length; u++)
        {
            for (int r = refStart[u]; r < refStart[u + 1]; r++)
            {
                if (_suffixValid[refs[r]])
                {
                    int id = uncertain[u];
                    words[id >> 6] |= 1UL << (id & 63);
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Marks each suffix of the mask that the continuation (level 0 of _levels, already filled) can
    /// read in full, walking the sorted suffixes as a trie: level d holds the stacks after d bytes.
    /// </summary>
    private void EvaluateSuffixes(PositionMask mask, bool continuationAccepts)
    {
        int count = mask.SuffixCount;
        if (_suffixValid.Length < count)
        {
            _suffixValid = new bool[Math.Max(count, _suffixValid.Length * 2)];
        }

        int maxLen = 0;
        for (int s = 0; s < count; s++)
        {
            maxLen = Math.Max(maxLen, mask.SuffixStart[s + 1] - mask.SuffixStart[s]);
        }

        if (_levelStart.Length < maxLen + 2)
        {
            _levelStart = new int[maxLen + 2];
            _levelAccepting = new bool[maxLen + 2];
        }

        _levelStart[0] = 0;
        _levelStart[1] = _levels.Count;
        _levelAccepting[0] = continuationAccepts;
        int valid = 1;
        for (int s = 0; s < count; s++)
        {
            var suffix = mask.Suffix(s);
            valid = Math.Min(valid, mask.SuffixLcp[s] + 1);
            _levels.Truncate(_levelStart[valid]);
            int d = valid - 1;
            while (d < suffix.Length && _levelStart[d + 1] > _levelStart[d])
            {
                _runner.Step(_levels, _levelStart[d], _levelStart[d + 1], suffix[d], _levels);
                _levelStart[d + 2] = _levels.Count;
                _levelAccepting[d + 1] = _runner.Accepting;
                d++;
            }

            valid = d + 1;
            _suffixValid[s] = d == suffix.Length && (_levelStart[d + 1] > _levelStart[d] || _levelAccepting[d]);
        }
    }

    private static void OrInto(Span<ulong> words, ulong[] bits)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = MemoryMarshal.Cast<ulong, Vector<ulong>>(words);
            var b = MemoryMarshal.Cast<ulong, Vector<ulong>>(bits.AsSpan(0, words.Length));
            for (int v = 0; v < w.Length; v++)
            {
                w[v] |= b[v];
            }

            i = w.Length * Vector<ulong>.Count;
        }

        for (; i < words.Length; i++)
        {
            words[i] |= bits[i];
        }
    }
}

/// <summary>A matcher's state, valid only for the matcher that saved it.</summary>
internal readonly record struct MatcherSnapshot(int[] Tops, bool Accepting, bool Terminated, int TokenCount);
