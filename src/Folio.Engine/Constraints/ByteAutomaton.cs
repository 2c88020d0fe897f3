namespace Folio.Engine.Constraints;

/// <summary>
/// A compiled grammar: one deterministic byte automaton per rule, all states numbered globally as
/// "positions". A position has byte transitions (through byte classes: bytes that every transition
/// treats alike share a class), call edges (enter a rule, continue at a return position when it
/// completes) and may be final (its rule can complete here). The pushdown runner
/// (<see cref="StackRunner"/>) executes it. Immutable once built: shared by every matcher and thread.
/// </summary>
internal sealed class ByteAutomaton
{
    public required string[] RuleNames { get; init; }

    /// <summary>The start position of each rule.</summary>
    public required int[] RuleStart { get; init; }

    public required int RootRule { get; init; }

    /// <summary>The rule each position belongs to (for diagnostics).</summary>
    public required int[] PositionRule { get; init; }

    /// <summary>Byte to byte class.</summary>
    public required byte[] ByteClass { get; init; }

    public required int ClassCount { get; init; }

    /// <summary>Next position by [position * ClassCount + class], -1 for none.</summary>
    public required int[] Next { get; init; }

    /// <summary>Whether a position has any byte transition.</summary>
    public required bool[] HasBytes { get; init; }

    public required bool[] IsFinal { get; init; }

    /// <summary>Final, with no byte transition and no call: returning here is the same as returning from the rule.</summary>
    public required bool[] IsTailReturn { get; init; }

    /// <summary>Call edges of position p: CallRule/CallReturn[CallStart[p]..CallStart[p+1]).</summary>
    public required int[] CallStart { get; init; }

    public required int[] CallRule { get; init; }

    public required int[] CallReturn { get; init; }

    public int PositionCount => IsFinal.Length;

    public int RootStart => RuleStart[RootRule];

    public int Step(int position, byte b) => Next[(position * ClassCount) + ByteClass[b]];

    /// <summary>Per rule, the bytes that may follow it (<see cref="FollowBytes"/>), computed once on first use.</summary>
    public ulong[] Follow => LazyInitializer.EnsureInitialized(ref _follow, () => FollowBytes.Compute(this));

    private ulong[]? _follow;

    /// <summary>
    /// Positions with byte transitions in breadth-first order from the root's start (through bytes,
    /// calls and returns): roughly the order a generation meets them, so a background build serves
    /// the first sequences early.
    /// </summary>
    public int[] GenerationOrder => LazyInitializer.EnsureInitialized(ref _order, ComputeOrder);

    private int[]? _order;

    private int[] ComputeOrder()
    {
        var seen = new bool[PositionCount];
        var queue = new Queue<int>();
        var order = new List<int>();
        void Visit(int p)
        {
            if (!seen[p])
            {
                seen[p] = true;
                queue.Enqueue(p);
            }
        }

        Visit(RootStart);
        while (queue.Count > 0)
        {
            int p = queue.Dequeue();
            if (HasBytes[p])
            {
                order.Add(p);
            }

            for (int c = 0; c < ClassCount; c++)
            {
                int next = Next[(p * ClassCount) + c];
                if (next >= 0)
                {
                    Visit(next);
                }
            }

            for (int c = CallStart[p]; c < CallStart[p + 1]; c++)
            {
                Visit(RuleStart[CallRule[c]]);
                Visit(CallReturn[c]);
            }
        }

        // Positions unreachable from the root (unused GBNF rules) last: a matcher never needs them.
        for (int p = 0; p < PositionCount; p++)
        {
            if (!seen[p] && HasBytes[p])
            {
                order.Add(p);
            }
        }

        return [.. order];
    }
}
