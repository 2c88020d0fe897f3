using System.Text.Json.Nodes;
using Folio.ModelTools;
using Folio.Text.Chat.Jinja;
using Folio.Text.Chat;
using Folio.Text.Tokenization;

namespace Folio.Text.Tests.Chat;

/// <summary>What the template receives from a request, and the rules between the chat fields.</summary>
public sealed class ChatPromptBuilderTests
{
    private static readonly ITokenizer Gpt2 = TokenizerFactory.Gpt2();

    private static ChatPromptBuilder Builder(string template, SpecialTokenStrings? tokens = null, ITokenizer? tokenizer = null) =>
        new(ChatTemplate.Single(template, "test", tokens), tokenizer ?? Gpt2);

    private static ChatPromptRequest Request(params ChatMessage[] messages) => new() { Messages = messages };

    private static ChatMessage User(string text) => new(ChatRoles.User, text);

    private static ChatMessage Assistant(string text) => new(ChatRoles.Assistant, text);

    [Fact]
    public void Text_parts_reach_the_template_joined_by_newlines()
    {
        var message = new ChatMessage { Role = ChatRoles.User, ContentParts = [ChatContentPart.FromText("first"), ChatContentPart.FromText("second")] };
        Assert.Equal("first\nsecond", Builder("{{ messages[0].content }}").Render(Request(message)));
    }

    [Fact]
    public void Tool_call_arguments_reach_the_template_as_a_mapping_in_openai_shape()
    {
        var call = new ChatMessage { Role = ChatRoles.Assistant, ToolCalls = [new ChatToolCall("call_9", "get_weather", """{"city": "Paris"}""")] };
        var output = Builder("{% set c = messages[0].tool_calls[0] %}{{ c.id }} {{ c.type }} {{ c.function.name }} {{ c.function.arguments.city }} {{ messages[0].content == '' }}").Render(Request(call));
        Assert.Equal("call_9 function get_weather Paris true", output);
    }

    [Fact]
    public void Tool_call_arguments_that_are_not_json_are_refused_naming_the_field()
    {
        var call = new ChatMessage { Role = ChatRoles.Assistant, ToolCalls = [new ChatToolCall(null, "f", "{city: Paris")] };
        var e = Assert.Throws<ChatRequestException>(() => Builder("x").Build(Request(User("q"), call)));
        Assert.Equal(ChatErrorKind.InvalidRequest, e.Kind);
        Assert.Equal("messages[1].tool_calls[0].function.arguments", e.Field);
        Assert.Contains("messages[1].tool_calls[0].function.arguments", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Name_and_tool_call_id_are_passed_only_when_given()
    {
        var tool = new ChatMessage { Role = ChatRoles.Tool, Content = "21C", ToolCallId = "call_1", Name = "get_weather" };
        var output = Builder("{% for m in messages %}{{ m.name is defined }}{{ m.tool_call_id is defined }}{{ m.tool_calls is defined }};{% endfor %}").Render(Request(User("q"), tool));
        Assert.Equal("falsefalsefalse;truetruefalse;", output);
    }

    [Fact]
    public void Without_tools_the_template_sees_tools_and_documents_as_none_as_transformers_passes_them()
    {
        Assert.Equal("truetruetrue", Builder("{{ tools is none }}{{ documents is none }}{{ tools is defined }}").Render(Request(User("q"))));
    }

    [Fact]
    public void Tools_reach_the_template_as_given()
    {
        var tools = JsonNode.Parse("""[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]""")!.AsArray();
        Assert.Equal("f object", Builder("{{ tools[0].function.name }} {{ tools[0].function.parameters.type }}").Render(Request(User("q")) with { Tools = tools }));
    }

    [Fact]
    public void Special_token_strings_are_variables_and_kwargs_override_them()
    {
        var tokens = new SpecialTokenStrings { BosToken = "<s>", EosToken = "</s>", AdditionalSpecialTokens = ["<x>", "<y>"] };
        var builder = Builder("{{ bos_token }}|{{ eos_token }}|{{ unk_token is defined }}|{{ additional_special_tokens | join(',') }}|{{ flavour }}", tokens);
        Assert.Equal("<s>|</s>|false|<x>,<y>|", builder.Render(Request(User("q"))));
        var kwargs = JsonNode.Parse("""{"eos_token": "<end>", "flavour": "mint"}""")!.AsObject();
        Assert.Equal("<s>|<end>|false|<x>,<y>|mint", builder.Render(Request(User("q")) with { ChatTemplateKwargs = kwargs }));
    }

    [Fact]
    public void Add_generation_prompt_defaults_to_true_and_to_false_when_continuing()
    {
        var builder = Builder("{{ add_generation_prompt }}:{% for m in messages %}{{ m.content }}{% endfor %}");
        Assert.Equal("true:q", builder.Render(Request(User("q"))));
        Assert.Equal("false:q", builder.Render(Request(User("q")) with { AddGenerationPrompt = false }));
        Assert.Equal("false:qzz", builder.Render(Request(User("q"), Assistant("zz")) with { ContinueFinalMessage = true }));
    }

    [Fact]
    public void Continue_final_message_leaves_the_last_turn_open()
    {
        var builder = Builder(BuiltInChatTemplates.ChatMl);
        var prompt = builder.Build(Request(User("Write a haiku"), Assistant("Autumn moonlight")) with { ContinueFinalMessage = true });
        Assert.Equal("<|im_start|>user\nWrite a haiku<|im_end|>\n<|im_start|>assistant\nAutumn moonlight", prompt.Text);
        Assert.Equal(Gpt2.Encode(prompt.Text, addSpecialTokens: false), prompt.TokenIds);
    }

    [Fact]
    public void Continue_final_message_keeps_trailing_whitespace_only_where_the_template_kept_it()
    {
        // A template that trims the message: the whitespace is gone from the prompt, and stays gone.
        var trimming = Builder("{% for m in messages %}[{{ m.content | trim }}]{% endfor %}");
        Assert.Equal("[q][Autumn", trimming.Render(Request(User("q"), Assistant("Autumn  ")) with { ContinueFinalMessage = true }));
        var keeping = Builder("{% for m in messages %}[{{ m.content }}]{% endfor %}");
        Assert.Equal("[q][Autumn  ", keeping.Render(Request(User("q"), Assistant("Autumn  ")) with { ContinueFinalMessage = true }));
    }

    [Fact]
    public void Continue_final_message_after_a_user_message_is_refused_naming_the_field()
    {
        var e = Assert.Throws<ChatRequestException>(() => Builder(BuiltInChatTemplates.ChatMl).Build(Request(User("q")) with { ContinueFinalMessage = true }));
        Assert.Equal(ChatErrorKind.InvalidRequest, e.Kind);
        Assert.Equal("continue_final_message", e.Field);
        Assert.Contains("assistant", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Continue_final_message_with_add_generation_prompt_true_given_is_refused()
    {
        var e = Assert.Throws<ChatRequestException>(() => Builder(BuiltInChatTemplates.ChatMl).Build(Request(User("q"), Assistant("a")) with { ContinueFinalMessage = true, AddGenerationPrompt = true }));
        Assert.Equal(ChatErrorKind.InvalidRequest, e.Kind);
        Assert.Contains("add_generation_prompt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Continue_final_message_is_refused_when_the_template_does_not_write_the_text()
    {
        var e = Assert.Throws<ChatRequestException>(() => Builder("{% for m in messages %}{{ m.role }}{% endfor %}").Build(Request(User("q"), Assistant("hidden")) with { ContinueFinalMessage = true }));
        Assert.Equal("continue_final_message", e.Field);
    }

    [Fact]
    public void A_template_that_writes_bos_gets_exactly_one_bos_even_from_a_tokenizer_that_adds_it()
    {
        var tokenizer = TokenizerFactory.FromSpec(SyntheticTokenizers.SentencePieceBpe(512));
        Assert.True(tokenizer.AddBosToken);
        var bos = tokenizer.BosTokenId!.Value;
        var tokens = new SpecialTokenStrings { BosToken = tokenizer.TokenText(bos) };
        var prompt = Builder("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}", tokens, tokenizer).Build(Request(User("hello there")));
        Assert.Equal(bos, prompt.TokenIds[0]);
        Assert.Single(prompt.TokenIds, bos);
        Assert.Equal(tokenizer.Encode(prompt.Text, addSpecialTokens: false), prompt.TokenIds);
        // What the builder avoids: encoding with the tokenizer's own BOS rule would double it.
        Assert.Equal(2, tokenizer.Encode(prompt.Text, addSpecialTokens: true).Count(id => id == bos));
    }

    [Fact]
    public void A_model_without_a_template_is_refused_as_unsupported_saying_what_to_do()
    {
        var e = Assert.Throws<ChatTemplateUnsupportedException>(() => new ChatPromptBuilder(null, Gpt2).Build(Request(User("q"))));
        Assert.Equal(ChatErrorKind.Unsupported, ChatErrors.KindOf(e));
        Assert.Contains("no chat template", e.Message, StringComparison.Ordinal);
        Assert.Contains("Folio:Model:ChatTemplate", e.Message, StringComparison.Ordinal);
        Assert.Contains("prompt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_role_from_a_typed_caller_is_refused_naming_the_message()
    {
        var e = Assert.Throws<ChatRequestException>(() => Builder("x").Build(Request(User("q"), new ChatMessage("developer", "x"))));
        Assert.Equal(ChatErrorKind.InvalidRequest, e.Kind);
        Assert.Equal("messages[1].role", e.Field);
    }

    [Fact]
    public void A_non_text_part_from_a_typed_caller_is_unsupported()
    {
        var e = Assert.Throws<ChatRequestException>(() => Builder("x").Build(Request(new ChatMessage { Role = ChatRoles.User, ContentParts = [new ChatContentPart("image_url", null)] })));
        Assert.Equal(ChatErrorKind.Unsupported, e.Kind);
        Assert.Equal("messages[0].content[0].type", e.Field);
    }

    [Fact]
    public void Named_templates_are_chosen_as_transformers_chooses()
    {
        var template = new ChatTemplate(new Dictionary<string, string> { ["default"] = "plain", ["tool_use"] = "tools" }, "test");
        var builder = new ChatPromptBuilder(template, Gpt2);
        Assert.Equal("plain", builder.Render(Request(User("q"))));
        Assert.Equal("tools", builder.Render(Request(User("q")) with { Tools = [] }));
        Assert.Equal("tool_use", builder.Build(Request(User("q")) with { Tools = [] }).TemplateName);
        var onlyTools = new ChatPromptBuilder(new ChatTemplate(new Dictionary<string, string> { ["tool_use"] = "tools", ["rag"] = "r" }, "test"), Gpt2);
        var e = Assert.Throws<ChatTemplateUnsupportedException>(() => onlyTools.Render(Request(User("q"))));
        Assert.Contains("rag, tool_use", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Strftime_now_reads_the_builders_clock()
    {
        var builder = new ChatPromptBuilder(ChatTemplate.Single("{{ strftime_now('%d %B %Y') }}", "test"), Gpt2, new ChatPromptOptions { Clock = () => new DateTimeOffset(2031, 1, 2, 3, 4, 5, TimeSpan.Zero) });
        Assert.Equal("02 January 2031", builder.Render(Request(User("q"))));
    }

    [Fact]
    public void Reserved_names_in_chat_template_kwargs_are_refused()
    {
        var e = Assert.Throws<ChatRequestException>(() => Builder("x").Build(Request(User("q")) with { ChatTemplateKwargs = new JsonObject { ["messages"] = 1 } }));
        Assert.Equal("chat_template_kwargs.messages", e.Field);
    }
}
