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
    /// top_k then top_p over the <paramref name="candidates"/> ids in _order: a max-heap (highest
    /// probability first, lowest id among equals, a total order) yields tokens best first, and only
    /// as many are taken as top_k and top_p keep, so the usual case costs O(vocab), not a full sort.
    /// The mass top_p compares against is the sum over the top_k kept tokens taken best first, or
    /// without top_k the sum over all candidates in id order. Dropped tokens get probability 0.
    /// </summary>
    private void Truncate(Span<double> probs, int candidates, int k, double topP)
    {
        var heap = _order.AsSpan(0, candidates);
        for (int i = (candidates / 2) - 1; i >= 0; i--)
        {
            SiftDown(heap, i, candidates, probs);
        }

        double limit;
        if (k < candidates)
        {
            // Pop k tokens; popped ones collect at the end of the span, best at the very end.
            int size = candidates;
            double kept = 0;
            for (int j = 0; j < k; j++)
            {
                kept += probs[heap[0]];
                size = Pop(heap, size, probs);
            }

            for (int j = 0; j < size; j++)
            {
                probs[heap[j]] = 0;
            }

            if (topP >= 1.0)
            {
                return;
            }

            // The k kept tokens in best-first order are heap[candidates-1], heap[candidates-2], ...
            limit = topP * kept;
            double before = 0;
            int take = 0;
            while (take < k && (take == 0 || before < limit))
            {
                before += probs[heap[candidates - 1 - take]];
                take++;
            }

            for (int j = take; j < k; j++)
            {
                probs[heap[candidates - 1 - j]] = 0;
            }

            return;
        }

        double total = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            total += probs[i];
        }

        limit = topP * total;
        double mass = 0;
        int remaining = candidates;
        int popped = 0;
        while (remaining > 0 && (popped == 0 || mass < limit))
        {
            mass += probs[heap[0]];
            remaining = Pop(heap, remaining, probs);
            popped++;
        }

        for (int j = 0; j < remaining; j++)
        {
            probs[heap[j]] = 0;
        }
    }

    /// <summary>Moves the best token to heap[size-1] and restores the heap on the rest; returns the new size.</summary>
    private static int Pop(Span<int> heap, int size, ReadOnlySpan<double> probs)
    {
        size--;
        (heap[0], heap[size]) = (heap[size], heap[0]);
        SiftDown(heap, 0, size, probs);
        return size;
    }

    private static void SiftDown(Span<int> heap, int i, int size, ReadOnlySpan<double> probs)
    {
        while (true)
        {
            int best = i;
            int l = (2 * i) + 1;
            int r = l + 1;
            if (l < size && Better(heap[l], heap[best], probs))
            {
                best = l;
            }

            if (r < size && Better(heap[r], heap[best], probs))
            {
                best = r;
            }

            if (best == i)
            {
                return;
            }

            (heap[i], heap[best]) = (heap[best], heap[i]);
            i = best;
        }
    }

    /// <summary>Higher probability first, lower id among equals.</summary>
    private static bool Better(int a, int b, ReadOnlySpan<double> probs) =>
        probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
}
