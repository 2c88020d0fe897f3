namespace Folio.Engine.Sampling;

/// <summary>
/// Counter-based randomness: the uniform number for token <c>index</c> of a request is a pure
/// function of (seed, index), built from SplitMix64's mixer. Nothing is carried from one draw to the
/// next, so batch order, preemption, or a resume on another worker cannot change a draw.
/// </summary>
public static class CounterRng
{
    /// <summary>A double in [0, 1) with 53 random bits.</summary>
    public static double Uniform(long seed, int index)
    {
        ulong z = SplitMix((ulong)seed);
        z = SplitMix(z ^ ((ulong)(uint)index * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL));
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    private static ulong SplitMix(ulong x)
    {
        ulong z = x + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
