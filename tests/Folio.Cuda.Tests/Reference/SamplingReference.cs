namespace Folio.Cuda.Tests.Reference;

/// <summary>
/// The sampling rule of sampling.cu written with sorts in float64: temperature, top-k (ties at
/// the boundary kept), top-p over the top-k mass, min-p relative to the top token, then the first
/// id whose running kept mass exceeds u times the kept mass.
/// </summary>
internal static class SamplingReference
{
    public static int Argmax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
        {
            if (row[i] > row[best])
            {
                best = i;
            }
        }

        return best;
    }

    public static int Sample(ReadOnlySpan<float> row, float temperature, int topK, float topP, float minP, float u)
    {
        if (temperature <= 0)
        {
            return Argmax(row);
        }

        double max = double.NegativeInfinity;
        foreach (float v in row)
        {
            max = Math.Max(max, v);
        }

        var p = new double[row.Length];
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = Math.Exp((row[i] - max) / temperature);
        }

        var sorted = p.OrderByDescending(x => x).ToArray();
        double thr = 0;
        if (topK > 0 && topK < p.Length)
        {
            thr = sorted[topK - 1];
        }

        if (topP < 1)
        {
            double keptMass = sorted.Where(x => x >= thr).Sum();
            double goal = topP * keptMass;
            double run = 0;
            for (int i = 0; i < sorted.Length && sorted[i] >= thr; i++)
            {
                run += sorted[i];
                bool lastOfTies = i + 1 == sorted.Length || sorted[i + 1] != sorted[i];
                if (lastOfTies && run >= goal)
                {
                    thr = sorted[i];
                    break;
                }
            }
        }

        thr = Math.Max(thr, minP);
        double total = 0;
        foreach (double x in p)
        {
            if (x >= thr)
            {
                total += x;
            }
        }

        double target = u * total, acc = 0;
        int last = -1;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] >= thr)
            {
                acc += p[i];
                last = i;
                if (acc > target)
                {
                    return i;
                }
            }
        }

        return last;
    }
}
