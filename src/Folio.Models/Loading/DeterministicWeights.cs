namespace Folio.Models.Loading;

/// <summary>
/// Counter-based pseudo-random weights: element i of tensor "name" depends only on (seed, name, i),
/// so any tensor or slice can be generated independently, in parallel, and identically for every
/// file format. Values are uniform with the requested mean and standard deviation (uniform rather
/// than normal: one hash per element, no transcendental functions, and bounded activations).
/// </summary>
public static class DeterministicWeights
{
    public static void Fill(Span<float> destination, ulong seed, string tensorName, float mean, float std) =>
        FillRange(destination, seed, tensorName, 0, mean, std);

    /// <summary>Elements [first, first + destination.Length) of the tensor's sequence.</summary>
    public static void FillRange(Span<float> destination, ulong seed, string tensorName, long first, float mean, float std)
    {
        ulong key = Mix(seed ^ Fnv1a(tensorName));
        // Uniform on [-a, a) has standard deviation a / sqrt(3).
        float scale = std * MathF.Sqrt(3f) * 2f / (1 << 24);
        float offset = mean - (std * MathF.Sqrt(3f));
        for (int i = 0; i < destination.Length; i++)
        {
            ulong z = Mix(key + ((ulong)(first + i) * 0x9E3779B97F4A7C15UL));
            destination[i] = offset + ((int)(z >> 40) * scale);
        }
    }

    public static float[] Generate(int count, ulong seed, string tensorName, float mean, float std)
    {
        var values = new float[count];
        Fill(values, seed, tensorName, mean, std);
        return values;
    }

    // splitmix64's finalizer: a bijective mix with good avalanche, cheap enough for every element.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // A stable string hash (string.GetHashCode is randomized per process).
    private static ulong Fnv1a(string s)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in s)
        {
            h = (h ^ c) * 0x100000001B3UL;
        }

        return h;
    }
}
