using System.Text.Json.Nodes;
using Folio.Text.Chat;
using Folio.Text.Chat.Jinja;
using Folio.Text.Tokenization;

namespace Folio.Text.Tests.Chat;

/// <summary>
/// Templates that cannot or must not render: each is stopped with its typed error (unsupported,
/// naming the construct or limit; a raise is invalid_request with the template's message), quickly,
/// and never by hanging or crashing the process.
/// </summary>
public sealed class TemplateSafetyTests
{
    private static readonly TemplateLimits Tight = new() { MaxOutputChars = 100_000, MaxLoopIterations = 50_000, TimeBudget = TimeSpan.FromSeconds(5) };

    private static ChatTemplateUnsupportedException Refused(string template, TemplateLimits? limits = null) =>
        Assert.Throws<ChatTemplateUnsupportedException>(() => JinjaTemplate.Parse(template).Render(new Dictionary<string, object?> { ["messages"] = JsonNode.Parse("""[{"role": "user", "content": "hi"}]""") }, limits ?? Tight));

    [Theory]
    [InlineData("{% include 'other.jinja' %}", "statement 'include'")]
    [InlineData("{% extends 'base.jinja' %}", "statement 'extends'")]
    [InlineData("{% import 'm.jinja' as m %}", "statement 'import'")]
    [InlineData("{{ messages | wordwrap(5) }}", "filter 'wordwrap'")]
    [InlineData("{{ messages[0].content is startingwith('h') }}", "test 'startingwith'")]
    [InlineData("{{ cycler(1, 2) }}", "function 'cycler'")]
    public void An_unsupported_construct_is_refused_naming_it(string template, string construct)
    {
        var e = Refused(template);
        Assert.Equal(construct, e.Construct);
        Assert.Equal(ChatErrorKind.Unsupported, ChatErrors.KindOf(e));
        Assert.Contains(construct.Split(' ')[1].Trim('\''), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_is_refused_as_unsupported()
    {
        var e = Assert.Throws<ChatTemplateUnsupportedException>(() => JinjaTemplate.Parse("{% if x %}never closed"));
        Assert.Equal(ChatErrorKind.Unsupported, ChatErrors.KindOf(e));
    }

    [Fact]
    public void A_loop_bomb_is_stopped_at_the_iteration_limit()
    {
        var e = Refused("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}");
        Assert.Equal("limit: loop iterations", e.Construct);
        Assert.Contains("50000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_bomb_is_stopped_at_the_output_limit()
    {
        var e = Refused("{% for a in range(40000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}");
        Assert.Equal("limit: output size", e.Construct);
    }

    [Fact]
    public void A_string_doubled_in_a_variable_is_stopped_before_it_eats_memory()
    {
        var e = Refused("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}");
        Assert.Equal("limit: output size", e.Construct);
    }

    [Fact]
    public void Endless_macro_recursion_is_stopped_at_the_depth_limit()
    {
        var e = Refused("{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}");
        Assert.Equal("limit: recursion depth", e.Construct);
    }

    [Theory]
    [InlineData("(", ")")]
    [InlineData("[", "]")]
    [InlineData("not ", "")]
    [InlineData("- ", "")]
    public void Expressions_nested_a_hundred_thousand_deep_are_refused_without_overflowing_the_stack(string open, string close)
    {
        var deep = "{{ " + string.Concat(Enumerable.Repeat(open, 100_000)) + "1" + string.Concat(Enumerable.Repeat(close, 100_000)) + " }}";
        var e = Assert.Throws<ChatTemplateUnsupportedException>(() => JinjaTemplate.Parse(deep));
        Assert.Equal("limit: nesting depth", e.Construct);
    }

    [Fact]
    public void A_left_deep_chain_of_a_hundred_thousand_operators_renders_or_is_refused_but_never_overflows()
    {
        var chain = "{{ 1" + string.Concat(Enumerable.Repeat(" + 1", 100_000)) + " }}";
        var template = JinjaTemplate.Parse(chain);
        // Rendered on a thread with a small stack, where an unguarded recursion would end the process.
        Exception? failure = null;
        string? output = null;
        var thread = new Thread(() =>
        {
            try
            {
                output = template.Render(new Dictionary<string, object?>(), Tight);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, maxStackSize: 256 * 1024);
        thread.Start();
        thread.Join();
        if (output is null)
        {
            var refused = Assert.IsType<ChatTemplateUnsupportedException>(failure);
            Assert.Equal("limit: recursion depth", refused.Construct);
        }
        else
        {
            Assert.Equal("100001", output);
        }
    }

    [Fact]
    public void A_list_nested_a_million_deep_by_a_loop_is_refused_when_written_out()
    {
        var e = Refused("{% set ns = namespace(l=[]) %}{% for i in range(40000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l | tojson }}", Tight with { MaxOutputChars = 10_000_000 });
        Assert.Equal("limit: recursion depth", e.Construct);
    }

    [Fact]
    public void A_slow_template_is_stopped_at_the_time_budget()
    {
        var e = Refused("{% for a in range(400) %}{% for b in range(400) %}{{ '' }}{% endfor %}{% endfor %}", new TemplateLimits { TimeBudget = TimeSpan.FromMilliseconds(1), MaxLoopIterations = 10_000_000 });
        Assert.Equal("limit: time", e.Construct);
    }

    [Fact]
    public void Raise_exception_is_an_invalid_request_carrying_the_templates_message()
    {
        var builder = new ChatPromptBuilder(ChatTemplate.Single("{{ raise_exception('Only user and assistant roles are supported!') }}", "test"), TokenizerFactory.Gpt2());
        var e = Assert.Throws<ChatTemplateRaisedException>(() => builder.Build(new ChatPromptRequest { Messages = [new ChatMessage(ChatRoles.Tool, "x")] }));
        Assert.Equal(ChatErrorKind.InvalidRequest, ChatErrors.KindOf(e));
        Assert.Equal("The model's chat template rejected the conversation: Only user and assistant roles are supported!", ChatErrors.UserMessage(e));
    }

    [Fact]
    public void A_template_that_fails_to_parse_still_lets_the_builder_be_made_and_fails_each_request()
    {
        var builder = new ChatPromptBuilder(ChatTemplate.Single("{% for %}", "test"), TokenizerFactory.Gpt2());
        var request = new ChatPromptRequest { Messages = [new ChatMessage(ChatRoles.User, "x")] };
        Assert.Throws<ChatTemplateUnsupportedException>(() => builder.Build(request));
        Assert.Throws<ChatTemplateUnsupportedException>(() => builder.Build(request));
    }
}
