using Folio.Engine.Constraints;

namespace Folio.Engine.Tests.Constraints;

/// <summary>Constraints that cannot be compiled are refused with a message that names the problem and says what to change.</summary>
public sealed class ConstraintErrorTests
{
    private static ConstraintException Refused(ConstraintSpec spec) =>
        Assert.Throws<ConstraintException>(() => ConstraintCompiler.Validate(spec));

    [Theory]
    [InlineData("[1, 2]", "must be a JSON object")]
    [InlineData("\"string\"", "must be a JSON object")]
    [InlineData("{not json", "not valid JSON")]
    public void A_schema_that_is_not_an_object_is_refused(string schema, string expected)
    {
        Assert.Contains(expected, Refused(ConstraintSpec.JsonSchema(schema)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_keyword_is_refused_naming_it_and_where_it_is()
    {
        var e = Refused(ConstraintSpec.JsonSchema("""{"type":"object","properties":{"a":{"type":"string","maxLenght":3}}}"""));
        Assert.Contains("'maxLenght'", e.Message, StringComparison.Ordinal);
        Assert.Contains("#/properties/a", e.Message, StringComparison.Ordinal);
        Assert.Contains("strict: false", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_strict_an_unknown_keyword_is_ignored_but_an_unsupported_one_is_not()
    {
        ConstraintCompiler.Validate(ConstraintSpec.JsonSchema("""{"type":"string","x-note":1}""", strict: false));
        var e = Assert.Throws<ConstraintException>(() => ConstraintCompiler.Validate(ConstraintSpec.JsonSchema("""{"type":"array","uniqueItems":true}""", strict: false)));
        Assert.Contains("'uniqueItems'", e.Message, StringComparison.Ordinal);
        Assert.Contains("not supported", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"number","minimum":0}""", "'minimum'")]
    [InlineData("""{"type":"string","format":"hostname"}""", "format 'hostname'")]
    [InlineData("""{"$ref":"https://example.com/s.json"}""", "'$ref'")]
    [InlineData("""{"$ref":"#/$defs/missing"}""", "does not exist")]
    [InlineData("""{"type":"integer","minimum":10,"maximum":2}""", "is empty")]
    [InlineData("""{"type":"object","properties":{"a":false},"required":["a"]}""", "'a'")]
    [InlineData("""{"type":"strin"}""", "'strin'")]
    [InlineData("""{"allOf":[{"type":"string"},{"maxLength":2}]}""", "'allOf'")]
    [InlineData("""{"type":"array","minItems":3,"maxItems":1}""", "at least 3")]
    [InlineData("""{"type":"string","pattern":"(a"}""", "missing ')'")]
    public void Schemas_the_compiler_cannot_honour_are_refused_with_the_reason(string schema, string expected)
    {
        Assert.Contains(expected, Refused(ConstraintSpec.JsonSchema(schema)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("(ab", "missing ')'", 0)]
    [InlineData("a{3,1}", "maximum below its minimum", 1)]
    [InlineData("(?=a)b", "lookaround", 0)]
    [InlineData(@"(a)\1", "backreferences", 3)]
    [InlineData(@"\bword", "assertion", 0)]
    [InlineData("[a-", "missing ']'", 0)]
    [InlineData("[z-a]", "out of order", 2)]
    [InlineData("*a", "nothing to repeat", 0)]
    [InlineData(@"\p{L}", "property", 0)]
    [InlineData("a^b", "'^'", 1)]
    public void An_invalid_regex_is_refused_naming_the_position(string pattern, string expected, int position)
    {
        var e = Refused(ConstraintSpec.Regex(pattern));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains($"position {position}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_grammar_with_an_undefined_rule_is_refused_naming_rule_and_place()
    {
        var e = Refused(ConstraintSpec.Grammar("root ::= greeting \" \" name\nname ::= [a-z]+\n"));
        Assert.Contains("undefined rule 'greeting'", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 1, column 10", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_left_recursive_grammar_is_refused_with_the_cycle_and_the_rewrite()
    {
        var e = Refused(ConstraintSpec.Grammar("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]+\n"));
        Assert.Contains("'expr' is left-recursive", e.Message, StringComparison.Ordinal);
        Assert.Contains("(\"+\" term)*", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Indirect_left_recursion_through_a_nullable_rule_is_found()
    {
        var e = Refused(ConstraintSpec.Grammar("root ::= a\na ::= opt b \"x\"\nb ::= a | \"y\"\nopt ::= \"z\"?\n"));
        Assert.Contains("left-recursive", e.Message, StringComparison.Ordinal);
        Assert.Contains("a -> b -> a", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("expr ::= \"a\"", "no rule 'root'")]
    [InlineData("root ::= \"a", "unterminated string")]
    [InlineData("root ::= [a-", "unterminated character class")]
    [InlineData("root ::= (\"a\"", "expected ')'")]
    [InlineData("root ::= \"a\"\nroot ::= \"b\"", "defined twice")]
    [InlineData("root ::= \"\\q\"", "unknown escape")]
    [InlineData("root ::= \"a\"{3,1}", "maximum below its minimum")]
    [InlineData("root = \"a\"", "expected '::='")]
    public void Malformed_grammars_are_refused_with_the_place(string grammar, string expected)
    {
        Assert.Contains(expected, Refused(ConstraintSpec.Grammar(grammar)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_choice_list_is_refused()
    {
        Assert.Contains("empty", Refused(ConstraintSpec.Choice([])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bounded_repetition_too_large_to_expand_is_refused()
    {
        Assert.Contains("above", Refused(ConstraintSpec.Regex("a{20000}")).Message, StringComparison.Ordinal);
    }
}
