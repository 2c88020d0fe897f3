namespace Folio.Cli.Cuda;

/// <summary>One line of the `folio cuda check` table.</summary>
public sealed record CheckResult(string Name, bool Passed, double MaxError, double Tolerance, string Detail = "")
{
    public static CheckResult Compare(string name, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double abs, double rel)
    {
        if (expected.Length != actual.Length)
        {
            return new CheckResult(name, false, double.NaN, abs, $"length {actual.Length}, expected {expected.Length}");
        }

        double worst = 0, worstExcess = double.NegativeInfinity;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)expected[i] - actual[i]);
            double excess = err - (abs + (rel * Math.Abs(expected[i])));
            if (double.IsNaN(err))
            {
                return new CheckResult(name, false, double.NaN, abs, $"NaN at {i}");
            }

            worst = Math.Max(worst, err);
            if (excess > worstExcess)
            {
                worstExcess = excess;
                at = i;
            }
        }

        bool ok = worstExcess <= 0;
        return new CheckResult(name, ok, worst, abs, ok ? "" : $"element {at}: expected {expected[at]:G6}, got {actual[at]:G6}");
    }
}
