using System.Runtime.InteropServices;

namespace Folio.Engine.Constraints;

/// <summary>
/// Builds a <see cref="ByteAutomaton"/> from a <see cref="GrammarDefinition"/>: a Thompson NFA per
/// rule over bytes (characters become their UTF-8 byte sequences), then the subset construction per
/// rule with rule calls as symbols. Refuses undefined rules, left recursion (the pushdown runner
/// expands calls eagerly and would not terminate) and grammars too large to expand.
/// </summary>
internal static class ByteAutomatonBuilder
{
    /// <summary>NFA states allowed over all rules: bounded repetitions expand into copies.</summary>
    public const int MaxNfaStates = 2_000_000;

    public static ByteAutomaton Build(GrammarDefinition grammar)
    {
        var names = grammar.RuleNames.ToArray();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            index[names[i]] = i;
        }

        if (!index.TryGetValue(grammar.Root, out int root))
        {
            throw new ConstraintException($"the grammar has no rule '{grammar.Root}'; define the start rule, e.g. '{grammar.Root} ::= ...'");
        }

        var nfa = new Nfa();
        var nfaStart = new int[names.Length];
        var nfaAccept = new int[names.Length];
        for (int r = 0; r < names.Length; r++)
        {
            nfaStart[r] = nfa.NewState();
            nfaAccept[r] = nfa.NewState();
            int end = nfa.Build(grammar[names[r]], nfaStart[r], index, names[r]);
            nfa.Epsilon(end, nfaAccept[r]);
        }

        var dfas = new RuleDfa[names.Length];
        for (int r = 0; r < names.Length; r++)
        {
            dfas[r] = Determinize(nfa, nfaStart[r], nfaAccept[r]);
        }

        CheckLeftRecursion(dfas, names);
        return Flatten(dfas, names, root);
    }

    private sealed class RuleDfa
    {
        public List<List<(byte Lo, byte Hi, int To)>> Bytes { get; } = [];

        public List<List<(int Rule, int To)>> Calls { get; } = [];

        public List<bool> Final { get; } = [];
    }

    private static RuleDfa Determinize(Nfa nfa, int start, int accept)
    {
        var dfa = new RuleDfa();
        var ids = new Dictionary<StateSet, int>();
        var sets = new List<int[]>();
        var work = new Queue<int>();

        int Intern(List<int> seeds)
        {
            var set = nfa.Closure(seeds);
            var key = new StateSet(set);
            if (ids.TryGetValue(key, out int id))
            {
                return id;
            }

            id = sets.Count;
            ids[key] = id;
            sets.Add(set);
            dfa.Bytes.Add([]);
            dfa.Calls.Add([]);
            dfa.Final.Add(Array.IndexOf(set, accept) >= 0);
            work.Enqueue(id);
            return id;
        }

        Intern([start]);
        var cuts = new List<int>();
        var targets = new List<int>();
        while (work.Count > 0)
        {
            int id = work.Dequeue();
            var set = sets[id];

            // Byte transitions over the elementary intervals between all edge boundaries.
            cuts.Clear();
            foreach (int s in set)
            {
                foreach (var e in nfa.ByteEdges(s))
                {
                    cuts.Add(e.Lo);
                    cuts.Add(e.Hi + 1);
                }
            }

            cuts.Sort();
            int previousTarget = -1;
            for (int c = 0; c + 1 < cuts.Count; c++)
            {
                int lo = cuts[c], hi = cuts[c + 1] - 1;
                if (lo > hi)
                {
                    continue;
                }

                targets.Clear();
                foreach (int s in set)
                {
                    foreach (var e in nfa.ByteEdges(s))
                    {
                        if (e.Lo <= lo && hi <= e.Hi)
                        {
                            targets.Add(e.To);
                        }
                    }
                }

                if (targets.Count == 0)
                {
                    previousTarget = -1;
                    continue;
                }

                int to = Intern(targets);
                var list = dfa.Bytes[id];
                if (previousTarget == to && list.Count > 0 && list[^1].Hi + 1 == lo)
                {
                    list[^1] = (list[^1].Lo, (byte)hi, to);
                }
                else
                {
                    list.Add(((byte)lo, (byte)hi, to));
                }

                previousTarget = to;
            }

            foreach (var group in set.SelectMany(nfa.CallEdges).GroupBy(e => e.Rule).OrderBy(g => g.Key))
            {
                int to = Intern([.. group.Select(e => e.To)]);
                dfa.Calls[id].Add((group.Key, to));
            }
        }

        return dfa;
    }

    /// <summary>
    /// A rule that can reach a call of itself without consuming a byte would make the runner expand
    /// forever: find such a cycle and name it.
    /// </summary>
    private static void CheckLeftRecursion(RuleDfa[] dfas, string[] names)
    {
        var nullable = new bool[dfas.Length];
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int r = 0; r < dfas.Length; r++)
            {
                if (!nullable[r] && LeftReachable(dfas[r], nullable).Any(s => dfas[r].Final[s]))
                {
                    nullable[r] = true;
                    changed = true;
                }
            }
        }

        var leftCalls = new List<int>[dfas.Length];
        for (int r = 0; r < dfas.Length; r++)
        {
            leftCalls[r] = [.. LeftReachable(dfas[r], nullable).SelectMany(s => dfas[r].Calls[s]).Select(c => c.Rule).Distinct()];
        }

        var color = new int[dfas.Length];
        var path = new List<int>();
        for (int r = 0; r < dfas.Length; r++)
        {
            Visit(r);
        }

        void Visit(int r)
        {
            if (color[r] == 2)
            {
                return;
            }

            if (color[r] == 1)
            {
                var cycle = path.Skip(path.IndexOf(r)).Append(r).Select(i => names[i]);
                throw new ConstraintException(
                    $"rule '{names[r]}' is left-recursive ({string.Join(" -> ", cycle)}): it can reach itself before matching any character. "
                    + "Rewrite the recursion as repetition, e.g. 'expr ::= term (\"+\" term)*' instead of 'expr ::= expr \"+\" term | term'.");
            }

            color[r] = 1;
            path.Add(r);
            foreach (int callee in leftCalls[r])
            {
                Visit(callee);
            }

            path.RemoveAt(path.Count - 1);
            color[r] = 2;
        }
    }

    /// <summary>States of a rule reachable from its start through calls of nullable rules only.</summary>
    private static List<int> LeftReachable(RuleDfa dfa, bool[] nullable)
    {
        var seen = new HashSet<int> { 0 };
        var work = new Stack<int>();
        work.Push(0);
        while (work.Count > 0)
        {
            int s = work.Pop();
            foreach (var (rule, to) in dfa.Calls[s])
            {
                if (nullable[rule] && seen.Add(to))
                {
                    work.Push(to);
                }
            }
        }

        return [.. seen];
    }

    private static ByteAutomaton Flatten(RuleDfa[] dfas, string[] names, int root)
    {
        var offset = new int[dfas.Length];
        int total = 0;
        for (int r = 0; r < dfas.Length; r++)
        {
            offset[r] = total;
            total += dfas[r].Final.Count;
        }

        // Byte classes: bytes between the same boundaries of every range behave alike.
        var boundary = new bool[257];
        boundary[0] = true;
        foreach (var d in dfas)
        {
            foreach (var list in d.Bytes)
            {
                foreach (var (lo, hi, _) in list)
                {
                    boundary[lo] = true;
                    boundary[hi + 1] = true;
                }
            }
        }

        var byteClass = new byte[256];
        int classes = 0;
        for (int b = 0; b < 256; b++)
        {
            if (b > 0 && boundary[b])
            {
                classes++;
            }

            byteClass[b] = (byte)classes;
        }

        classes++;
        var next = new int[total * classes];
        Array.Fill(next, -1);
        var hasBytes = new bool[total];
        var isFinal = new bool[total];
        var positionRule = new int[total];
        var callStart = new int[total + 1];
        var callRule = new List<int>();
        var callReturn = new List<int>();
        for (int r = 0; r < dfas.Length; r++)
        {
            var d = dfas[r];
            for (int s = 0; s < d.Final.Count; s++)
            {
                int p = offset[r] + s;
                positionRule[p] = r;
                isFinal[p] = d.Final[s];
                foreach (var (lo, hi, to) in d.Bytes[s])
                {
                    hasBytes[p] = true;
                    for (int b = lo; b <= hi; b++)
                    {
                        next[(p * classes) + byteClass[b]] = offset[r] + to;
                    }
                }

                callStart[p] = callRule.Count;
                foreach (var (rule, to) in d.Calls[s])
                {
                    callRule.Add(rule);
                    callReturn.Add(offset[r] + to);
                }
            }
        }

        callStart[total] = callRule.Count;
        var tail = new bool[total];
        for (int p = 0; p < total; p++)
        {
            tail[p] = isFinal[p] && !hasBytes[p] && callStart[p] == callStart[p + 1];
        }

        return new ByteAutomaton
        {
            RuleNames = names,
            RuleStart = offset,
            RootRule = root,
            PositionRule = positionRule,
            ByteClass = byteClass,
            ClassCount = classes,
            Next = next,
            HasBytes = hasBytes,
            IsFinal = isFinal,
            IsTailReturn = tail,
            CallStart = callStart,
            CallRule = [.. callRule],
            CallReturn = [.. callReturn],
        };
    }

    /// <summary>A sorted set of NFA states as a dictionary key.</summary>
    private readonly struct StateSet(int[] states) : IEquatable<StateSet>
    {
        private readonly int _hash = Hash(states);

        public int[] States { get; } = states;

        public bool Equals(StateSet other) => _hash == other._hash && States.AsSpan().SequenceEqual(other.States);

        public override bool Equals(object? obj) => obj is StateSet other && Equals(other);

        public override int GetHashCode() => _hash;

        private static int Hash(int[] states)
        {
            var h = default(HashCode);
            foreach (int s in states)
            {
                h.Add(s);
            }

            return h.ToHashCode();
        }
    }

    /// <summary>A Thompson NFA over bytes with epsilon and rule-call edges.</summary>
    private sealed class Nfa
    {
        private readonly List<List<(byte Lo, byte Hi, int To)>> _bytes = [];
        private readonly List<List<int>> _eps = [];
        private readonly List<List<(int Rule, int To)>> _calls = [];
        private readonly Dictionary<CodePointSet, List<(byte Lo, byte Hi)[]>> _utf8 = [];

        public int NewState()
        {
            if (_bytes.Count >= MaxNfaStates)
            {
                throw new ConstraintException(
                    $"the constraint expands to more than {MaxNfaStates} automaton states; lower the bounded repetitions (maxLength, maxItems, {{m,n}} counts) or the number of alternatives");
            }

            _bytes.Add([]);
            _eps.Add([]);
            _calls.Add([]);
            return _bytes.Count - 1;
        }

        public void Epsilon(int from, int to) => _eps[from].Add(to);

        public List<(byte Lo, byte Hi, int To)> ByteEdges(int s) => _bytes[s];

        public List<(int Rule, int To)> CallEdges(int s) => _calls[s];

        private int[] _seen = new int[64];
        private int _seenGeneration;
        private readonly List<int> _closureWork = [];
        private readonly List<int> _closureResult = [];

        public int[] Closure(List<int> seeds)
        {
            if (_seen.Length < _bytes.Count)
            {
                Array.Resize(ref _seen, Math.Max(_bytes.Count, _seen.Length * 2));
            }

            int gen = ++_seenGeneration;
            _closureWork.Clear();
            _closureResult.Clear();
            foreach (int s in seeds)
            {
                if (_seen[s] != gen)
                {
                    _seen[s] = gen;
                    _closureWork.Add(s);
                }
            }

            while (_closureWork.Count > 0)
            {
                int s = _closureWork[^1];
                _closureWork.RemoveAt(_closureWork.Count - 1);

                // Only states with something to do (or the accept state, which has no edges) matter.
                if (_bytes[s].Count > 0 || _calls[s].Count > 0 || _eps[s].Count == 0)
                {
                    _closureResult.Add(s);
                }

                foreach (int t in _eps[s])
                {
                    if (_seen[t] != gen)
                    {
                        _seen[t] = gen;
                        _closureWork.Add(t);
                    }
                }
            }

            var result = _closureResult.ToArray();
            Array.Sort(result);
            return result;
        }

        /// <summary>Adds the expression's paths starting at <paramref name="from"/>; returns the state where they end.</summary>
        public int Build(GrammarExpr expr, int from, Dictionary<string, int> rules, string ruleName)
        {
            switch (expr)
            {
                case LiteralExpr lit:
                {
                    int cur = from;
                    foreach (byte b in lit.Bytes)
                    {
                        int next = NewState();
                        _bytes[cur].Add((b, b, next));
                        cur = next;
                    }

                    return cur;
                }

                case ByteRangeExpr range:
                {
                    int next = NewState();
                    _bytes[from].Add((range.Lo, range.Hi, next));
                    return next;
                }

                case CharClassExpr cls:
                {
                    if (!_utf8.TryGetValue(cls.Set, out var seqs))
                    {
                        seqs = Utf8Sequences.Of(cls.Set);
                        _utf8[cls.Set] = seqs;
                    }

                    int end = NewState();
                    foreach (var seq in seqs)
                    {
                        int cur = from;
                        for (int i = 0; i < seq.Length; i++)
                        {
                            int next = i == seq.Length - 1 ? end : NewState();
                            _bytes[cur].Add((seq[i].Lo, seq[i].Hi, next));
                            cur = next;
                        }
                    }

                    return end;
                }

                case SequenceExpr seq:
                {
                    int cur = from;
                    foreach (var item in seq.Items)
                    {
                        cur = Build(item, cur, rules, ruleName);
                    }

                    return cur;
                }

                case ChoiceExpr choice:
                {
                    int end = NewState();
                    foreach (var option in choice.Options)
                    {
                        // Each option gets its own entry so that a loop at one option's start cannot leak into another.
                        int entry = NewState();
                        Epsilon(from, entry);
                        Epsilon(Build(option, entry, rules, ruleName), end);
                    }

                    return end;
                }

                case RepeatExpr rep:
                    return BuildRepeat(rep, from, rules, ruleName);

                case RuleRefExpr reference:
                {
                    if (!rules.TryGetValue(reference.Name, out int callee))
                    {
                        string where = reference.Location is null ? "" : $" at {reference.Location}";
                        throw new ConstraintException($"rule '{ruleName}' refers to undefined rule '{reference.Name}'{where}; define it ('{reference.Name} ::= ...') or fix the name");
                    }

                    int next = NewState();
                    _calls[from].Add((callee, next));
                    return next;
                }

                default:
                    throw new InvalidOperationException($"unknown grammar expression {expr.GetType().Name}");
            }
        }

        private int BuildRepeat(RepeatExpr rep, int from, Dictionary<string, int> rules, string ruleName)
        {
            int cur = from;
            for (int i = 0; i < rep.Min; i++)
            {
                int entry = NewState();
                Epsilon(cur, entry);
                cur = Build(rep.Item, entry, rules, ruleName);
            }

            if (rep.Max == RepeatExpr.Unbounded)
            {
                // A fresh loop head: the item's paths return to it, and leaving it is the exit.
                int head = NewState();
                Epsilon(cur, head);
                int entry = NewState();
                Epsilon(head, entry);
                Epsilon(Build(rep.Item, entry, rules, ruleName), head);
                int exit = NewState();
                Epsilon(head, exit);
                return exit;
            }

            int end = NewState();
            Epsilon(cur, end);
            for (int i = rep.Min; i < rep.Max; i++)
            {
                int entry = NewState();
                Epsilon(cur, entry);
                cur = Build(rep.Item, entry, rules, ruleName);
                Epsilon(cur, end);
            }

            return end;
        }
    }
}
