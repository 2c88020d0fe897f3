namespace Folio.Cuda.Tests.Reference;

internal static class Rand
{
    public static float[] Uniform(Random rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)((rng.NextDouble() * 2) - 1) * scale;
        }

        return a;
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double abs, double rel, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)expected[i] - actual[i]);
            double allowed = abs + (rel * Math.Abs(expected[i]));
            if (!(err <= allowed) && (worstAt < 0 || err - allowed > worst))
            {
                worst = err - allowed;
                worstAt = i;
            }
        }

        if (worstAt >= 0)
        {
            Assert.Fail($"{what}: element {worstAt} expected {expected[worstAt]:R} got {actual[worstAt]:R} (abs {abs}, rel {rel})");
        }
    }

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double abs, double rel, string what)
    {
        var e = new float[expected.Length];
        for (int i = 0; i < e.Length; i++)
        {
            e[i] = (float)expected[i];
        }

        AssertClose(e, actual, abs, rel, what);
    }
}
