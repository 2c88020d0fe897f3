namespace Folio.Engine.Constraints;

/// <summary>
/// For each rule, the bytes that can come right after it completes, over every place it is called
/// (the classic FOLLOW set, on bytes). When a token leaves a position's rule partway, its next byte
/// must be in this set whatever the stack holds, so most such tokens are rejected while
/// precomputing instead of being checked at every step.
/// </summary>
internal static class FollowBytes
{
    /// <summary>Per rule, 4 words of 64 bits (bit b: byte b may follow).</summary>
    public static ulong[] Compute(ByteAutomaton a)
    {
        int positions = a.PositionCount;
        int rules = a.RuleStart.Length;
        var first = new ulong[positions * 4];
        var endable = new bool[positions];
        for (int p = 0; p < positions; p++)
        {
            endable[p] = a.IsFinal[p];
            for (int b = 0; b < 256; b++)
            {
                if (a.Step(p, (byte)b) >= 0)
                {
                    first[(p * 4) + (b >> 6)] |= 1UL << (b & 63);
                }
            }
        }

        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int p = 0; p < positions; p++)
            {
                for (int c = a.CallStart[p]; c < a.CallStart[p + 1]; c++)
                {
                    int start = a.RuleStart[a.CallRule[c]];
                    int ret = a.CallReturn[c];
                    changed |= Or(first, p, first, start);
                    if (endable[start])
                    {
                        changed |= Or(first, p, first, ret);
                        if (endable[ret] && !endable[p])
                        {
                            endable[p] = true;
                            changed = true;
                        }
                    }
                }
            }
        }

        var follow = new ulong[rules * 4];
        changed = true;
        while (changed)
        {
            changed = false;
            for (int p = 0; p < positions; p++)
            {
                int caller = a.PositionRule[p];
                for (int c = a.CallStart[p]; c < a.CallStart[p + 1]; c++)
                {
                    int callee = a.CallRule[c];
                    int ret = a.CallReturn[c];
                    changed |= Or(follow, callee, first, ret);
                    if (endable[ret])
                    {
                        changed |= Or(follow, callee, follow, caller);
                    }
                }
            }
        }

        return follow;
    }

    private static bool Or(ulong[] dst, int d, ulong[] src, int s)
    {
        bool changed = false;
        for (int w = 0; w < 4; w++)
        {
            ulong v = dst[(d * 4) + w] | src[(s * 4) + w];
            if (v != dst[(d * 4) + w])
            {
                dst[(d * 4) + w] = v;
                changed = true;
            }
        }

        return changed;
    }
}
