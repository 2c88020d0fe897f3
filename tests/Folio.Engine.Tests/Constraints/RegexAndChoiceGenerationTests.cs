using System.Text;
using System.Text.RegularExpressions;
using Folio.Engine.Constraints;

namespace Folio.Engine.Tests.Constraints;

/// <summary>Regex and choice constraints: every completed output is a full match (System.Text.RegularExpressions as the oracle) or one of the choices.</summary>
public sealed class RegexAndChoiceGenerationTests
{
    private const int Seeds = 10;

    public static TheoryData<string> Patterns() =>
    [
        @"[a-z]{2,5}-\d{3}",
        @"(cat|dog|bird)s?",
        @"\d{4}-\d{2}-\d{2}",
        @"[A-Z][a-z]*( [A-Z][a-z]*){0,2}\.",
        @"(?:0|[1-9]\d{0,5})(\.\d{1,2})?",
        @"[^,\n]{1,8}(,[^,\n]{1,8}){0,3}",
        @"\w+@\w+\.(com|org)",
        @"(ab|a)(bc|c)?d",
        @"x*y+z?",
        @"\s?[\u00e9\u00e8]{1,3}\S",
        @"(?<word>[aeiou]{1,2})-(?P<n>\d)",
        @"^colou?r$",
        @".{3}",
    ];

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Every_completed_output_fully_matches_the_regex(string pattern)
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var compiled = ConstraintCompiler.Compile(ConstraintSpec.Regex(pattern), tokenizer);

        // ECMAScript semantics for \d \w \s (ASCII, as the constraint's), full match; supplementary
        // characters become one BMP character so that '.' and negated classes count code points as
        // the constraint does.
        var oracle = new Regex($@"^(?:{Regex.Replace(pattern, @"\(\?P<", "(?<").TrimStart('^').TrimEnd('$')})$(?![\s\S])", RegexOptions.ECMAScript);
        var generation = new ConstrainedGeneration(tokenizer, ConstrainedGeneration.PunctuationBias);
        int completed = 0;
        for (int seed = 0; seed < Seeds; seed++)
        {
            var result = generation.Run(compiled, seed, maxTokens: 100);
            if (result.Stopped)
            {
                completed++;
                Assert.Matches(oracle, AstralToOneChar(result.Text));
            }
        }

        Assert.True(completed >= Seeds / 2, $"only {completed} of {Seeds} outputs ended");
    }

    [Fact]
    public void Every_output_is_one_of_the_choices()
    {
        string[] choices = ["positive", "negative", "neutral", "mixed feelings", "n/a", "\u00e9t\u00e9 \U0001F600"];
        var tokenizer = ConstraintTestSupport.Gpt2;
        var compiled = ConstraintCompiler.Compile(ConstraintSpec.Choice(choices), tokenizer);
        var generation = new ConstrainedGeneration(tokenizer, (text, eos) => 0f);
        var seen = new HashSet<string>();
        for (int seed = 0; seed < 40; seed++)
        {
            var result = generation.Run(compiled, seed, maxTokens: 30);
            Assert.True(result.Stopped, $"seed {seed} did not end: '{result.Text}'");
            Assert.Contains(result.Text, choices);
            seen.Add(result.Text);
        }

        Assert.True(seen.Count >= 3, "random logits should reach several of the choices");
    }

    [Fact]
    public void A_choice_that_is_a_prefix_of_another_can_end_or_continue()
    {
        var tokenizer = ConstraintTestSupport.Gpt2;
        var matcher = ConstraintCompiler.Compile(ConstraintSpec.Choice(["no", "nope"]), tokenizer).CreateMatcher();
        Assert.True(matcher.TryAdvance(tokenizer.Encode("no", false).Single()));
        Assert.True(matcher.IsAccepting);
        var mask = new ulong[matcher.Constraint.MaskWords];
        matcher.FillAllowed(mask);
        int eos = tokenizer.EosTokenIds[0];
        Assert.True(((mask[eos >> 6] >> (eos & 63)) & 1) != 0, "EOS must be allowed after a complete choice");
        Assert.True(matcher.TryAdvance(tokenizer.Encode("pe", false).Single()));
        Assert.True(matcher.IsAccepting);
    }

    private static string AstralToOneChar(string s)
    {
        var sb = new StringBuilder();
        foreach (var rune in s.EnumerateRunes())
        {
            sb.Append(rune.IsBmp ? (char)rune.Value : '\uE000');
        }

        return sb.ToString();
    }
}
