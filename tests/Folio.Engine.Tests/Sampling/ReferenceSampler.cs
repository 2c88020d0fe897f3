using Folio.Engine.Sampling;

namespace Folio.Engine.Tests.Sampling;

/// <summary>
/// The sampling rules written the plain way (LINQ, whole-array copies, a sort), as the spec the
/// production sampler must agree with: penalties, greedy tie rule, temperature, min_p, top_k,
/// top_p (keep the most likely tokens until the mass before a token reaches top_p), then the
/// counter-based uniform number walks the kept tokens in ascending id order.
/// </summary>
internal static class ReferenceSampler
{
    public static double[] Processed(float[] logits, SamplingParams p, int[] prompt, int[] output, int[] eos)
    {
        var w = logits.Select(x => (double)x).ToArray();
        if (output.Length < p.MinTokens)
        {
            foreach (int t in (p.IgnoreEos ? [] : eos).Concat(p.StopTokenIds))
            {
                w[t] = double.NegativeInfinity;
            }
        }

        if (p.RepetitionPenalty != 1.0)
        {
            foreach (int t in prompt.Concat(output).Distinct())
            {
                w[t] = w[t] > 0 ? w[t] / p.RepetitionPenalty : w[t] * p.RepetitionPenalty;
            }
        }

        foreach (var g in output.GroupBy(t => t))
        {
            w[g.Key] -= (p.FrequencyPenalty * g.Count()) + p.PresencePenalty;
        }

        return w;
    }

    public static int[] Kept(double[] w, SamplingParams p)
    {
        double max = w.Max();
        var probs = w.Select(x => double.IsNegativeInfinity(x) ? 0 : Math.Exp((x - max) / p.Temperature)).ToArray();
        var ranked = Enumerable.Range(0, w.Length)
            .Where(i => probs[i] > 0 && probs[i] >= p.MinP)
            .OrderByDescending(i => probs[i]).ThenBy(i => i)
            .ToList();
        bool topK = p.TopK > 0 && p.TopK < ranked.Count;
        if (topK)
        {
            ranked = ranked.Take(p.TopK).ToList();
        }

        if (p.TopP < 1.0)
        {
            // The mass top_p refers to: the top_k tokens summed best first, or all of them in id order.
            double total = topK ? ranked.Sum(i => probs[i]) : ranked.Order().Sum(i => probs[i]);
            var kept = new List<int>();
            double before = 0;
            foreach (int i in ranked)
            {
                if (kept.Count > 0 && before >= p.TopP * total)
                {
                    break;
                }

                kept.Add(i);
                before += probs[i];
            }

            ranked = kept;
        }

        return [.. ranked.Order()];
    }

    public static int Sample(float[] logits, SamplingParams p, long seed, int[] prompt, int[] output, int[] eos)
    {
        var w = Processed(logits, p, prompt, output, eos);
        if (p.Temperature == 0)
        {
            return Enumerable.Range(0, w.Length).OrderByDescending(i => w[i]).ThenBy(i => i).First();
        }

        double max = w.Max();
        var kept = Kept(w, p);
        var probs = kept.Select(i => Math.Exp((w[i] - max) / p.Temperature)).ToArray();
        double target = CounterRng.Uniform(seed, output.Length) * probs.Sum();
        double cumulative = 0;
        for (int k = 0; k < kept.Length; k++)
        {
            cumulative += probs[k];
            if (cumulative > target)
            {
                return kept[k];
            }
        }

        return kept[^1];
    }

    public static double[] LogSoftmax(float[] logits)
    {
        double max = logits.Max();
        double logZ = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        return [.. logits.Select(l => l - logZ)];
    }
}
