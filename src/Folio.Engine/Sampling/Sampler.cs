namespace Folio.Engine.Sampling;

/// <summary>
/// Turns one row of raw logits into a token, following vLLM V1's order: min_tokens masking,
/// repetition / frequency / presence penalties, then greedy argmax or temperature, min_p, top_k,
/// top_p and an inverse-CDF draw with <see cref="CounterRng"/>. Every loop is scalar and in a fixed
/// order with double accumulation, so the choice is the same on every machine whatever its SIMD
/// width. All scratch is sized to the vocabulary once; sampling a token allocates nothing (only the
/// logprobs a request asked for are allocated, as output).
/// </summary>
public sealed class Sampler
{
    private readonly double[] _work;
    private readonly double[] _probs;
    private readonly int[] _order;
    private readonly int[] _stamp;
    private readonly int[] _counts;
    private readonly int[] _eos;
    private int _generation;

    public Sampler(int vocabSize, IReadOnlyList<int> eosTokenIds)
    {
        VocabSize = vocabSize;
        _work = new double[vocabSize];
        _probs = new double[vocabSize];
        _order = new int[vocabSize];
        _stamp = new int[vocabSize];
        _counts = new int[vocabSize];
        _eos = eosTokenIds.Where(t => t >= 0 && t < vocabSize).ToArray();
    }

    public int VocabSize { get; }

    /// <summary>
    /// Chooses token number <c>output.Length</c> of a request. <paramref name="prompt"/> and
    /// <paramref name="output"/> are its tokens so far (penalties read them).
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, long seed, ReadOnlySpan<int> prompt, ReadOnlySpan<int> output, out SampledLogprobs? logprobs)
    {
        if (logits.Length < VocabSize)
        {
            throw new ArgumentException($"logits row has {logits.Length} entries, vocabulary is {VocabSize}", nameof(logits));
        }

        logits = logits[..VocabSize];
        var w = _work.AsSpan();
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = logits[i];
        }

        if (output.Length < p.MinTokens)
        {
            MaskStopTokens(w, p);
        }

        ApplyPenalties(w, p, prompt, output);

        int token = p.IsGreedy ? ArgMax(w) : SampleRandom(w, p, CounterRng.Uniform(seed, output.Length));
        if (token < 0)
        {
            // Everything masked (cannot happen with finite logits): fall back to the raw argmax.
            for (int i = 0; i < w.Length; i++)
            {
                w[i] = logits[i];
            }

            token = Math.Max(0, ArgMax(w));
        }

        logprobs = p.Logprobs is int n ? ComputeLogprobs(logits, token, n) : null;
        return token;
    }

    /// <summary>
    /// Chooses token number <c>output.Length</c> of a constrained request: tokens whose bit is clear in
    /// <paramref name="allowedTokens"/> (bit t = word t / 64, bit t % 64; ids past its end count as
    /// clear) get -inf before every other step (min_tokens, penalties, greedy or temperature, min_p,
    /// top_k, top_p), so greedy and sampled requests alike only ever pick an allowed token. When
    /// min_tokens would mask every allowed token (the constraint is complete and only EOS fits), the
    /// constraint wins and min_tokens is not applied to that step. Logprobs stay those of the raw
    /// model distribution, as in the unconstrained overload (vLLM V1's default). Returns -1 when the
    /// mask allows no token at all: the caller must end the sequence with an error.
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, long seed, ReadOnlySpan<int> prompt, ReadOnlySpan<int> output, ReadOnlySpan<ulong> allowedTokens, out SampledLogprobs? logprobs)
    {
        if (logits.Length < VocabSize)
        {
            throw new ArgumentException($"logits row has {logits.Length} entries, vocabulary is {VocabSize}", nameof(logits));
        }

        logits = logits[..VocabSize];
        var w = _work.AsSpan();
        if (CopyAllowed(logits, allowedTokens, w) == 0)
        {
            logprobs = null;
            return -1;
        }

        if (output.Length < p.MinTokens)
        {
            MaskStopTokens(w, p);
            if (ArgMax(w) < 0)
            {
                CopyAllowed(logits, allowedTokens, w);
            }
        }

        ApplyPenalties(w, p, prompt, output);
        int token = p.IsGreedy ? ArgMax(w) : SampleRandom(w, p, CounterRng.Uniform(seed, output.Length));
        if (token < 0)
        {
            // Penalties keep finite logits finite, so this is a NaN row: take the first allowed token.
            CopyAllowed(logits, allowedTokens, w);
            token = FirstFinite(w);
        }

        logprobs = p.Logprobs is int n ? ComputeLogprobs(logits, token, n) : null;
        return token;
    }

    /// <summary>Copies the allowed logits into <paramref name="w"/> and -inf elsewhere; returns how many are allowed.</summary>
    private static int CopyAllowed(ReadOnlySpan<float> logits, ReadOnlySpan<ulong> allowed, Span<double> w)
    {
        int count = 0;
        for (int i = 0; i < w.Length; i++)
        {
            int word = i >> 6;
            if (word < allowed.Length && ((allowed[word] >> (i & 63)) & 1) != 0)
            {
                w[i] = logits[i];
                count++;
            }
            else
            {
                w[i] = double.NegativeInfinity;
            }
        }

        return count;
    }

    private static int FirstFinite(ReadOnlySpan<double> w)
    {
        for (int i = 0; i < w.Length; i++)
        {
            if (!double.IsNegativeInfinity(w[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>log_softmax of the raw logits: the sampled token's value and the top <paramref name="n"/>.</summary>
    public static SampledLogprobs ComputeLogprobs(ReadOnlySpan<float> logits, int token, int n)
    {
        double max = double.NegativeInfinity;
        foreach (float l in logits)
        {
            if (l > max)
            {
                max = l;
            }
        }

        double sum = 0;
        foreach (float l in logits)
        {
            sum += Math.Exp(l - max);
        }

        double logZ = max + Math.Log(sum);
        var top = n <= 0 ? [] : new TokenLogprob[Math.Min(n, logits.Length)];
        int count = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (count == top.Length && (count == 0 || !(v > logits[top[count - 1].TokenId])))
            {
                continue;
            }

            // Insertion keeps the list highest first; a later (higher) id never passes an equal value.
            int j = count < top.Length ? count++ : count - 1;
            while (j > 0 && v > logits[top[j - 1].TokenId])
            {
                top[j] = top[j - 1];
                j--;
            }

            top[j] = new TokenLogprob(i, 0);
        }

        for (int k = 0; k < count; k++)
        {
            top[k] = new TokenLogprob(top[k].TokenId, (float)(logits[top[k].TokenId] - logZ));
        }

        return new SampledLogprobs((float)(logits[token] - logZ), top);
    }

    private void MaskStopTokens(Span<double> w, SamplingParams p)
    {
        if (!p.IgnoreEos)
        {
            foreach (int t in _eos)
            {
                w[t] = double.NegativeInfinity;
            }
        }

        foreach (int t in p.StopTokenIds)
        {
            if ((uint)t < (uint)w.Length)
            {
                w[t] = double.NegativeInfinity;
            }
        }
    }

    private void ApplyPenalties(Span<double> w, SamplingParams p, ReadOnlySpan<int> prompt, ReadOnlySpan<int> output)
    {
        if (p.RepetitionPenalty != 1.0)
        {
            int gen = NextGeneration();
            double r = p.RepetitionPenalty;
            ApplyRepetition(w, prompt, gen, r);
            ApplyRepetition(w, output, gen, r);
        }

        if (p.FrequencyPenalty != 0 || p.PresencePenalty != 0)
        {
            int gen = NextGeneration();
            foreach (int t in output)
            {
                if (_stamp[t] != gen)
                {
                    _stamp[t] = gen;
                    _counts[t] = 0;
                }

                _counts[t]++;
            }

            foreach (int t in output)
            {
                if (_counts[t] > 0)
                {
                    w[t] -= (p.FrequencyPenalty * _counts[t]) + p.PresencePenalty;
                    _counts[t] = 0;
                }
            }
        }
    }

    private void ApplyRepetition(Span<double> w, ReadOnlySpan<int> tokens, int gen, double r)
    {
        foreach (int t in tokens)
        {
            if ((uint)t < (uint)w.Length && _stamp[t] != gen)
            {
                _stamp[t] = gen;
                w[t] = w[t] > 0 ? w[t] / r : w[t] * r;
            }
        }
    }

    private int NextGeneration()
    {
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_stamp);
            _generation = 1;
        }

        return _generation;
    }

    /// <summary>Index of the largest value, the lowest index among equals; -1 when all are -inf or NaN.</summary>
    public static int ArgMax(ReadOnlySpan<double> w)
    {
        int best = -1;
        double bestValue = double.NegativeInfinity;
        for (int i = 0; i < w.Length; i++)
        {
            if (w[i] > bestValue)
            {
                bestValue = w[i];
                best = i;
            }
        }

        return best;
    }

    private int SampleRandom(Span<double> w, SamplingParams p, double u)
    {
        int argmax = ArgMax(w);
        if (argmax < 0)
        {
            return -1;
        }

        // Unnormalised softmax of w / T: the top token has weight 1, so min_p compares directly.
        double max = w[argmax];
        double t = p.Temperature;
        var probs = _probs.AsSpan();
        double minKeep = p.MinP;
        int candidates = 0;
        for (int i = 0; i < w.Length; i++)
        {
            double e = double.IsNegativeInfinity(w[i]) ? 0 : Math.Exp((w[i] - max) / t);
            if (e < minKeep)
            {
                e = 0;
            }

            probs[i] = e;
            if (e > 0)
            {
                _order[candidates++] = i;
            }
        }

        bool topK = p.TopK > 0 && p.TopK < candidates;
        if (topK || p.TopP < 1.0)
        {
            Truncate(probs, candidates, topK ? p.TopK : candidates, p.TopP);
        }

        // Inverse CDF over the kept tokens in ascending id order: one uniform number picks one token.
        double sum = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            sum += probs[i];
        }

        double target = u * sum;
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < probs.Length; i++)
        {
            if (probs[i] > 0)
            {
                cumulative += probs[i];
                last = i;
                if (cumulative > target)
                {
                    return i;
                }
            }
        }

        return last;
    }

    /// <summary>
    /// top_k then top_p over the <paramref name="candidates"/> ids in _order, ranked by probability
    /// (highest first, lowest id among equals: a total order). Both are selections, not sorts:
    /// quickselect-style partitioning finds the k best, then the smallest best-first set whose mass
    /// reaches top_p (a token is kept while the mass ranked before it is below top_p of the total),
    /// in expected O(vocab) even when top_p keeps most of a flat distribution. Masses are summed
    /// per partition in a fixed order, so the result is deterministic. Dropped tokens get probability 0.
    /// </summary>
    private void Truncate(Span<double> probs, int candidates, int k, double topP)
    {
        var order = _order.AsSpan(0, candidates);
        if (k < candidates)
        {
            SelectBest(order, k, probs);
            foreach (int i in order[k..])
            {
                probs[i] = 0;
            }

            order = order[..k];
        }

        if (topP >= 1.0)
        {
            return;
        }

        double total = 0;
        foreach (int i in order)
        {
            total += probs[i];
        }

        double limit = topP * total;
        int kept = KeepByMass(order, limit, probs);
        foreach (int i in order[kept..])
        {
            probs[i] = 0;
        }
    }

    /// <summary>Rearranges <paramref name="order"/> so that its first <paramref name="k"/> entries are the k best (in any order).</summary>
    private static void SelectBest(Span<int> order, int k, ReadOnlySpan<double> probs)
    {
        int lo = 0, hi = order.Length;
        while (hi - lo > 1)
        {
            int mid = Partition(order, lo, hi, probs);
            if (mid == k || mid + 1 == k)
            {
                return;
            }

            if (mid > k)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
    }

    /// <summary>
    /// Rearranges <paramref name="order"/> so that a best-first prefix holds exactly the tokens
    /// top_p keeps, and returns its length: token j (best first) is kept when j is the first or the
    /// mass of the tokens ranked before it is below <paramref name="limit"/>.
    /// </summary>
    private static int KeepByMass(Span<int> order, double limit, ReadOnlySpan<double> probs)
    {
        int lo = 0, hi = order.Length;
        double before = 0;
        while (hi - lo > 16)
        {
            int mid = Partition(order, lo, hi, probs);
            double better = 0;
            for (int j = lo; j < mid; j++)
            {
                better += probs[order[j]];
            }

            if (mid > lo && before + better >= limit)
            {
                // The boundary lies among the better tokens; the pivot and the rest are dropped.
                hi = mid;
                continue;
            }

            // Every better token and the pivot are kept (the mass before the pivot is below the limit).
            before += better + probs[order[mid]];
            lo = mid + 1;
            if (before >= limit)
            {
                return lo;
            }
        }

        // A few tokens left: rank them and walk.
        InsertionSort(order[lo..hi], probs);
        for (int j = lo; j < hi; j++)
        {
            if (j > 0 && before >= limit)
            {
                return j;
            }

            before += probs[order[j]];
        }

        return hi;
    }

    /// <summary>
    /// Lomuto partition of order[lo..hi) around a median-of-three pivot: returns the pivot's final
    /// index; entries before it rank better, entries after it worse.
    /// </summary>
    private static int Partition(Span<int> order, int lo, int hi, ReadOnlySpan<double> probs)
    {
        int a = lo, b = lo + ((hi - lo) / 2), c = hi - 1;
        int median = Better(order[a], order[b], probs)
            ? (Better(order[b], order[c], probs) ? b : (Better(order[a], order[c], probs) ? c : a))
            : (Better(order[a], order[c], probs) ? a : (Better(order[b], order[c], probs) ? c : b));
        (order[median], order[hi - 1]) = (order[hi - 1], order[median]);
        int pivot = order[hi - 1];
        int store = lo;
        for (int j = lo; j < hi - 1; j++)
        {
            if (Better(order[j], pivot, probs))
            {
                (order[store], order[j]) = (order[j], order[store]);
                store++;
            }
        }

        (order[store], order[hi - 1]) = (order[hi - 1], order[store]);
        return store;
    }

    private static void InsertionSort(Span<int> items, ReadOnlySpan<double> probs)
    {
        for (int i = 1; i < items.Length; i++)
        {
            int x = items[i];
            int j = i - 1;
            while (j >= 0 && Better(x, items[j], probs))
            {
                items[j + 1] = items[j];
                j--;
            }

            items[j + 1] = x;
        }
    }

    /// <summary>Higher probability first, lower id among equals.</summary>
    private static bool Better(int a, int b, ReadOnlySpan<double> probs) =>
        probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
}
