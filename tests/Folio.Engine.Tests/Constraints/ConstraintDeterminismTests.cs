using System.Runtime.InteropServices;
using Folio.Engine.Constraints;
using Folio.Engine.Sampling;

namespace Folio.Engine.Tests.Constraints;

/// <summary>
/// A constrained sequence's tokens depend only on its seed and logits: not on whether the masks of a
/// step's sequences are computed one by one or in parallel (with position masks built concurrently
/// on first use), nor on whether the matcher was rebuilt from the tokens already generated.
/// </summary>
public sealed class ConstraintDeterminismTests
{
    private static readonly string[] SpecsJson =
    [
        """{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"n":{"type":"integer","minimum":0,"maximum":99},"tags":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["id","n"]}""",
        """{"type":"array","items":{"type":"object","properties":{"k":{"enum":["a","b","c"]},"v":{"type":"number"}},"required":["k"]},"maxItems":4}""",
        """{"type":"object","properties":{"when":{"type":"string","format":"date-time"},"note":{"type":"string","maxLength":20}},"required":["when"]}""",
    ];

    private static List<ConstraintSpec> Specs() =>
    [
        .. SpecsJson.Select(s => ConstraintSpec.JsonSchema(s)),
        ConstraintSpec.JsonObject(),
        ConstraintSpec.Regex(@"[A-Z]{2}\d{2,6}(-[a-z]+)?"),
        ConstraintSpec.Choice(["alpha", "beta", "gamma delta"]),
    ];

    /// <summary>Runs a batch step by step: at each step every live sequence's mask, then its sample and advance.</summary>
    private static List<int[]> RunBatch(IReadOnlyList<(CompiledConstraint Constraint, long Seed)> batch, bool parallelMasks, int steps)
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var matchers = batch.Select(b => b.Constraint.CreateMatcher()).ToArray();
        var masks = batch.Select(b => new ulong[b.Constraint.MaskWords]).ToArray();
        var outputs = batch.Select(_ => new List<int>()).ToArray();
        var live = Enumerable.Repeat(true, batch.Count).ToArray();
        var generation = new ConstrainedGeneration(tokenizer, ConstrainedGeneration.JsonBias);
        var sampler = new Sampler(tokenizer.VocabSize, tokenizer.EosTokenIds);
        for (int step = 0; step < steps; step++)
        {
            if (parallelMasks)
            {
                Parallel.For(0, batch.Count, i =>
                {
                    if (live[i])
                    {
                        matchers[i].FillAllowed(masks[i]);
                    }
                });
            }
            else
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    if (live[i])
                    {
                        matchers[i].FillAllowed(masks[i]);
                    }
                }
            }

            for (int i = 0; i < batch.Count; i++)
            {
                if (!live[i])
                {
                    continue;
                }

                generation.FillLogits(batch[i].Seed, step);
                var p = new SamplingParams { Temperature = 1.0, Seed = batch[i].Seed };
                int token = sampler.Sample(generation.Logits, p, batch[i].Seed, [], CollectionsMarshal.AsSpan(outputs[i]), masks[i], out _);
                Assert.True(matchers[i].TryAdvance(token));
                outputs[i].Add(token);
                live[i] = !matchers[i].IsTerminated;
            }
        }

        return [.. outputs.Select(o => o.ToArray())];
    }

    [Fact]
    public void Tokens_are_the_same_alone_and_in_a_batch_of_18_with_masks_computed_in_parallel()
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var specs = Specs();

        // Fresh caches for the batch, so position masks are built concurrently on first use.
        var cache = new ConstraintCache(capacity: 16);
        var batch = Enumerable.Range(0, 18).Select(i => (cache.GetOrCompile(specs[i % specs.Count], tokenizer), (long)(1000 + i))).ToList();
        var together = RunBatch(batch, parallelMasks: true, steps: 60);
        for (int i = 0; i < batch.Count; i++)
        {
            var alone = RunBatch([(ConstraintCompiler.CompileUncached(specs[i % specs.Count], tokenizer), batch[i].Item2)], parallelMasks: false, steps: 60);
            Assert.Equal(alone[0], together[i]);
        }
    }

    [Fact]
    public void A_matcher_rebuilt_from_the_generated_tokens_continues_exactly_as_the_uninterrupted_one()
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        foreach (var spec in Specs())
        {
            var compiled = ConstraintCompiler.Compile(spec, tokenizer);
            var full = RunBatch([(compiled, 77)], parallelMasks: false, steps: 50)[0];
            for (int cut = 0; cut < full.Length; cut += 7)
            {
                var resumed = compiled.CreateMatcher(full.AsSpan(0, cut));
                var direct = compiled.CreateMatcher();
                foreach (int t in full.AsSpan(0, cut))
                {
                    Assert.True(direct.TryAdvance(t));
                }

                var a = new ulong[compiled.MaskWords];
                var b = new ulong[compiled.MaskWords];
                resumed.FillAllowed(a);
                direct.FillAllowed(b);
                Assert.Equal(b, a);
                Assert.Equal(direct.IsAccepting, resumed.IsAccepting);
            }
        }
    }

    [Fact]
    public void Rebuilding_from_tokens_that_break_the_constraint_is_refused_naming_the_index()
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var compiled = ConstraintCompiler.Compile(ConstraintSpec.Choice(["yes", "no"]), tokenizer);
        int[] tokens = [.. tokenizer.Encode("yes", false), .. tokenizer.Encode("!", false)];
        var e = Assert.Throws<ConstraintException>(() => compiled.CreateMatcher(tokens));
        Assert.Contains($"token {tokens.Length - 1}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cache_returns_one_compiled_constraint_per_content_and_tokenizer()
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var cache = new ConstraintCache(capacity: 2);
        var a = cache.GetOrCompile(ConstraintSpec.JsonSchema("""{"type":"integer"}"""), tokenizer);
        var b = cache.GetOrCompile(ConstraintSpec.JsonSchema("""{ "type" : "integer" }"""), tokenizer);
        Assert.Same(a, b);
        Assert.NotSame(a, cache.GetOrCompile(ConstraintSpec.JsonSchema("""{"type":"integer"}""", strict: false), tokenizer));
        cache.GetOrCompile(ConstraintSpec.Regex("x"), tokenizer);
        cache.GetOrCompile(ConstraintSpec.Regex("y"), tokenizer);
        Assert.Equal(2, cache.Count);
        Assert.NotSame(a, cache.GetOrCompile(ConstraintSpec.JsonSchema("""{"type":"integer"}"""), tokenizer));
    }

    [Fact]
    public void The_cache_evicts_least_recently_used_constraints_past_its_mask_byte_budget()
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var cache = new ConstraintCache(capacity: 8) { MaxMaskBytes = 1, PrecomputeInBackground = false };
        var a = cache.GetOrCompile(ConstraintSpec.Regex("a+"), tokenizer);
        a.CreateMatcher().FillAllowed(new ulong[a.MaskWords]);
        Assert.True(a.MaskBytes > 1);
        var b = cache.GetOrCompile(ConstraintSpec.Regex("b+"), tokenizer);
        b.CreateMatcher().FillAllowed(new ulong[b.MaskWords]);
        Assert.Equal(1, cache.Count);
        Assert.Same(b, cache.GetOrCompile(ConstraintSpec.Regex("b+"), tokenizer));
        Assert.NotSame(a, cache.GetOrCompile(ConstraintSpec.Regex("a+"), tokenizer));
    }
}
