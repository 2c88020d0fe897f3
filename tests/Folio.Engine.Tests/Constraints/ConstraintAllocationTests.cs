using Folio.Engine.Constraints;
using Folio.Engine.Sampling;

namespace Folio.Engine.Tests.Constraints;

/// <summary>The per-token path (mask, constrained sample, advance) allocates nothing once a matcher's buffers have grown.</summary>
public sealed class ConstraintAllocationTests
{
    [Fact]
    public void Steady_state_masks_advances_and_constrained_sampling_allocate_nothing()
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var compiled = ConstraintCompiler.CompileUncached(ConstraintSpec.JsonSchema(
            """{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer","minimum":0},"tags":{"type":"array","items":{"enum":["a","b"]}},"child":{"$ref":"#"}},"required":["name"]}"""), tokenizer);
        compiled.PrecomputeAll();
        var tokens = new ConstrainedGeneration(tokenizer, ConstrainedGeneration.JsonBias).Run(compiled, seed: 5, maxTokens: 120).Tokens;
        Assert.True(tokens.Length >= 10);

        var matcher = compiled.CreateMatcher();
        var mask = new ulong[compiled.MaskWords];
        var sampler = new Sampler(tokenizer.VocabSize, tokenizer.EosTokenIds);
        var logits = new float[tokenizer.VocabSize];
        var p = new SamplingParams { Temperature = 1.0, TopK = 40, Seed = 9 };

        // First pass grows the buffers; the second, from a reset, must allocate nothing.
        Drive(matcher, tokens, mask, sampler, logits, p);
        matcher.Reset();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Drive(matcher, tokens, mask, sampler, logits, p);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    private static void Drive(ConstraintMatcher matcher, int[] tokens, ulong[] mask, Sampler sampler, float[] logits, SamplingParams p)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            Assert.True(matcher.FillAllowed(mask) > 0);
            int sampled = sampler.Sample(logits, p, 9, [], tokens.AsSpan(0, i), mask, out _);
            Assert.True(sampled >= 0);
            Assert.True(matcher.TryAdvance(tokens[i]));
        }
    }
}
