using Folio.Engine.Sampling;

namespace Folio.Engine.Tests.Constraints;

/// <summary>The sampler's constrained overload: the mask comes before every other step, and an all-allowed mask changes nothing.</summary>
public sealed class SamplerMaskTests
{
    private const int Vocab = 300;
    private const int Eos = 3;

    private static float[] Logits(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, Vocab).Select(_ => (float)((rng.NextDouble() * 8) - 4))];
    }

    private static ulong[] Mask(IEnumerable<int> allowed)
    {
        var mask = new ulong[(Vocab + 63) / 64];
        foreach (int t in allowed)
        {
            mask[t >> 6] |= 1UL << (t & 63);
        }

        return mask;
    }

    public static TheoryData<string> Configurations() => ["greedy", "plain", "hot", "topk", "topp", "minp", "penalties", "all"];

    private static SamplingParams Config(string name) => name switch
    {
        "greedy" => new SamplingParams { Temperature = 0 },
        "plain" => new SamplingParams(),
        "hot" => new SamplingParams { Temperature = 1.8 },
        "topk" => new SamplingParams { Temperature = 0.9, TopK = 3 },
        "topp" => new SamplingParams { Temperature = 0.9, TopP = 0.5 },
        "minp" => new SamplingParams { MinP = 0.3 },
        "penalties" => new SamplingParams { RepetitionPenalty = 1.7, PresencePenalty = 1.2, FrequencyPenalty = 0.5 },
        "all" => new SamplingParams { Temperature = 1.3, TopK = 10, TopP = 0.8, MinP = 0.05, RepetitionPenalty = 1.2, Logprobs = 3 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void An_all_allowed_mask_picks_exactly_what_the_unconstrained_sampler_picks(string name)
    {
        var sampler = new Sampler(Vocab, [Eos]);
        var p = Config(name);
        var all = Mask(Enumerable.Range(0, Vocab));
        for (int trial = 0; trial < 100; trial++)
        {
            var logits = Logits(trial);
            int[] output = [.. Enumerable.Range(0, trial % 7).Select(i => (i * 37) % Vocab)];
            int plain = sampler.Sample(logits, p, trial, [1, 2], output, out var plainLogprobs);
            int masked = sampler.Sample(logits, p, trial, [1, 2], output, all, out var maskedLogprobs);
            Assert.Equal(plain, masked);
            Assert.Equal(plainLogprobs?.Logprob, maskedLogprobs?.Logprob);
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Only_allowed_tokens_are_ever_picked_even_when_their_logits_are_the_lowest(string name)
    {
        var sampler = new Sampler(Vocab, [Eos]);
        var p = Config(name);
        for (int trial = 0; trial < 200; trial++)
        {
            var logits = Logits(1000 + trial);

            // Allow the five lowest logits only: top_k, top_p and min_p alone would never keep them.
            int[] allowed = [.. Enumerable.Range(0, Vocab).OrderBy(t => logits[t]).Take(5)];
            int token = sampler.Sample(logits, p, trial, [], [allowed[0]], Mask(allowed), out var logprobs);
            Assert.Contains(token, allowed);
            if (p.Logprobs is not null)
            {
                // Raw model logprobs: the sampled token's value is its log-softmax over the whole vocabulary.
                Assert.Equal(Sampler.ComputeLogprobs(logits, token, 0).Logprob, logprobs!.Logprob);
            }
        }
    }

    [Fact]
    public void Greedy_picks_the_best_allowed_token()
    {
        var sampler = new Sampler(Vocab, [Eos]);
        var logits = Logits(5);
        int[] allowed = [10, 20, 30, 40];
        int expected = allowed.OrderByDescending(t => logits[t]).First();
        Assert.Equal(expected, sampler.Sample(logits, new SamplingParams { Temperature = 0 }, 1, [], [], Mask(allowed), out _));
    }

    [Fact]
    public void When_only_eos_is_allowed_the_constraint_wins_over_min_tokens()
    {
        var sampler = new Sampler(Vocab, [Eos]);
        var p = new SamplingParams { Temperature = 0.7, MinTokens = 50 };
        Assert.Equal(Eos, sampler.Sample(Logits(9), p, 1, [], [], Mask([Eos]), out _));

        // With another allowed token, min_tokens still holds EOS back.
        Assert.Equal(7, sampler.Sample(Logits(9), p, 1, [], [], Mask([Eos, 7]), out _));
    }

    [Fact]
    public void A_mask_that_allows_nothing_returns_minus_one()
    {
        var sampler = new Sampler(Vocab, [Eos]);
        Assert.Equal(-1, sampler.Sample(Logits(1), new SamplingParams(), 1, [], [], Mask([]), out var logprobs));
        Assert.Null(logprobs);
    }

    [Fact]
    public void Tokens_past_the_end_of_a_short_mask_count_as_disallowed()
    {
        var sampler = new Sampler(Vocab, [Eos]);
        var logits = Logits(3);
        logits[Vocab - 1] = 100;
        var shortMask = new ulong[1];
        shortMask[0] = 1UL << 5;
        Assert.Equal(5, sampler.Sample(logits, new SamplingParams { Temperature = 0 }, 1, [], [], shortMask, out _));
    }
}
