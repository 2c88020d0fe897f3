using Folio.Engine.Constraints;

namespace Folio.Engine.Tests.Constraints;

/// <summary>
/// llama.cpp's own grammars from ../shared/fixtures/gbnf: every output is a prefix of a sentence
/// and every completed output a sentence, as judged by a recogniser written in the tests from the
/// grammar text (<see cref="GbnfRecogniser"/>), not by the engine's compiler.
/// </summary>
public sealed class GbnfGenerationTests
{
    private static readonly Dictionary<string, (System.Buffers.SearchValues<byte> Closers, float EosBias)> Biases = new()
    {
        ["json"] = (System.Buffers.SearchValues.Create("\"}],"u8), 5f),
        ["json_arr"] = (System.Buffers.SearchValues.Create("\"}],"u8), 5f),
        ["arithmetic"] = (System.Buffers.SearchValues.Create("=+-*/\n"u8), 10f),
        ["list"] = (System.Buffers.SearchValues.Create("\n"u8), 5f),
        ["c"] = (System.Buffers.SearchValues.Create("{};="u8), 0f),
    };

    public static TheoryData<string> Grammars() => ["json", "json_arr", "arithmetic", "list", "c"];

    [GbnfFixtureTheory]
    [MemberData(nameof(Grammars))]
    public void Every_output_of_a_fixture_grammar_is_accepted_by_an_independent_recogniser(string name)
    {
        string folder = ConstraintTestSupport.GbnfFixtures ?? throw new DirectoryNotFoundException("../shared/fixtures not found");

        string text = File.ReadAllText(Path.Combine(folder, name + ".gbnf"));
        var recogniser = new GbnfRecogniser(text);
        var tokenizer = ConstraintTestSupport.Gpt2;
        var compiled = ConstraintCompiler.Compile(ConstraintSpec.Grammar(text), tokenizer);

        // Structure-closing tokens and EOS are favoured so that sentences finish within the budget.
        // Each grammar's closing characters are favoured so that sentences finish within the budget.
        // The C grammar accepts the empty program, where few tokens compete with EOS: no EOS bias there.
        var (closers, eosBias) = Biases[name];
        var generation = new ConstrainedGeneration(tokenizer, (t, eos) => eos ? eosBias : t.IndexOfAny(closers) >= 0 ? 7f : 0f);
        int completed = 0, nonEmpty = 0;
        string unfinished = "";
        for (int seed = 0; seed < 10; seed++)
        {
            var result = generation.Run(compiled, seed, maxTokens: 250);
            Assert.True(recogniser.IsPrefix(result.Text), $"{name}, seed {seed}: not a prefix of any sentence: '{result.Text}'");
            if (!result.Stopped)
            {
                unfinished = result.Text;
            }
            else
            {
                completed++;
                nonEmpty += result.Text.Length > 0 ? 1 : 0;
                Assert.True(recogniser.Accepts(result.Text), $"{name}, seed {seed}: not a sentence: '{result.Text}'");
            }
        }

        Assert.True(completed >= 3, $"{name}: only {completed} of 10 outputs ended; one that did not: {unfinished}");
        Assert.True(nonEmpty >= 1, $"{name}: every completed output was empty");
    }

    [Fact]
    public void The_recogniser_itself_tells_sentences_from_non_sentences()
    {
        // The oracle is only worth something if it can say no.
        var arithmetic = new GbnfRecogniser("root  ::= (expr \"=\" ws term \"\\n\")+\nexpr  ::= term ([-+*/] term)*\nterm  ::= ident | num | \"(\" ws expr \")\" ws\nident ::= [a-z] [a-z0-9_]* ws\nnum   ::= [0-9]+ ws\nws    ::= [ \\t\\n]*\n");
        Assert.True(arithmetic.Accepts("a+1= 2\n"));
        Assert.True(arithmetic.Accepts("(x*y)=z\nq=1\n"));
        Assert.False(arithmetic.Accepts("a+1=2"));
        Assert.False(arithmetic.Accepts("+1=2\n"));
        Assert.True(arithmetic.IsPrefix("(x*"));
        Assert.False(arithmetic.IsPrefix("(x*)"));
        var counted = new GbnfRecogniser("root ::= [a-c]{2,3} \"!\"?");
        Assert.True(counted.Accepts("ab"));
        Assert.True(counted.Accepts("abc!"));
        Assert.False(counted.Accepts("a"));
        Assert.False(counted.Accepts("abca"));
    }
}
