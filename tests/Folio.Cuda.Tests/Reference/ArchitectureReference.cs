namespace Folio.Cuda.Tests.Reference;

/// <summary>
/// Float64 definitions of the pieces newer architectures add, written from the CPU backend's math
/// (Folio.Cpu's CpuModelRunner and VectorMath): (offset + w) norms, Gemma's sandwich norm, per-head
/// q/k norms, GeGLU with tanh gelu, soft-capping, and mixture-of-experts routing.
/// </summary>
internal static class ArchitectureReference
{
    /// <summary>x · rsqrt(mean(x²) + eps) · (offset + w) over each row of <paramref name="n"/>.</summary>
    public static double[] RmsNorm(ReadOnlySpan<double> x, ReadOnlySpan<float> w, int n, double eps, double offset)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / n; r++)
        {
            double ss = 0;
            for (int i = 0; i < n; i++)
            {
                ss += x[(r * n) + i] * x[(r * n) + i];
            }

            double inv = 1 / Math.Sqrt((ss / n) + eps);
            for (int i = 0; i < n; i++)
            {
                y[(r * n) + i] = x[(r * n) + i] * inv * (offset + w[i]);
            }
        }

        return y;
    }

    public static double[] ToDouble(ReadOnlySpan<float> x)
    {
        var d = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            d[i] = x[i];
        }

        return d;
    }

    /// <summary>0.5 g (1 + tanh(sqrt(2/π)(g + 0.044715 g³))) · u, gate and up side by side in each row of 2·inter.</summary>
    public static double[] GeluTanhAndMul(ReadOnlySpan<float> gateUp, int rows, int inter)
    {
        var y = new double[rows * inter];
        for (int t = 0; t < rows; t++)
        {
            for (int i = 0; i < inter; i++)
            {
                double g = gateUp[(t * 2 * inter) + i], u = gateUp[(t * 2 * inter) + inter + i];
                y[(t * inter) + i] = 0.5 * g * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (g + (0.044715 * g * g * g)))) * u;
            }
        }

        return y;
    }

    /// <summary>
    /// The CPU runner's routing: softmax over the router logits, the top-k (ties to the lower expert
    /// id), weights p / Σp, renormalised over the k when asked.
    /// </summary>
    public static (int[] Experts, double[] Weights) Route(ReadOnlySpan<float> logits, int tokens, int experts, int k, bool renormalize)
    {
        var ids = new int[tokens * k];
        var weights = new double[tokens * k];
        for (int t = 0; t < tokens; t++)
        {
            var row = logits.Slice(t * experts, experts);
            double max = double.NegativeInfinity;
            foreach (float v in row)
            {
                max = Math.Max(max, v);
            }

            var p = new double[experts];
            double sum = 0;
            for (int e = 0; e < experts; e++)
            {
                p[e] = Math.Exp(row[e] - max);
                sum += p[e];
            }

            // A stable sort by descending probability keeps the lower id first among equals.
            var order = Enumerable.Range(0, experts).OrderByDescending(e => p[e]).Take(k).ToArray();
            double picked = order.Sum(e => p[e] / sum);
            for (int j = 0; j < k; j++)
            {
                ids[(t * k) + j] = order[j];
                weights[(t * k) + j] = p[order[j]] / sum / (renormalize ? picked : 1);
            }
        }

        return (ids, weights);
    }
}
