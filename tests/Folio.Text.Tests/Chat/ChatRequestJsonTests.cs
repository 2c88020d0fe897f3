using System.Text.Json;
using Folio.Text.Chat;

namespace Folio.Text.Tests.Chat;

/// <summary>The shape rules of the chat fields: each bad input gets its contract code and a message naming the field.</summary>
public sealed class ChatRequestJsonTests
{
    private static ChatPromptRequest Read(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return ChatRequestJson.Read(doc.RootElement);
    }

    public static TheoryData<string, string, ChatErrorKind, string> BadRequests => new()
    {
        { "no messages", """{"request_id": "r"}""", ChatErrorKind.InvalidRequest, "messages" },
        { "messages not an array", """{"messages": {"role": "user"}}""", ChatErrorKind.InvalidRequest, "messages" },
        { "empty messages", """{"messages": []}""", ChatErrorKind.InvalidRequest, "messages" },
        { "message not an object", """{"messages": ["hi"]}""", ChatErrorKind.InvalidRequest, "messages[0]" },
        { "unknown role", """{"messages": [{"role": "user", "content": "a"}, {"role": "wizard", "content": "b"}]}""", ChatErrorKind.InvalidRequest, "messages[1].role" },
        { "missing role", """{"messages": [{"content": "b"}]}""", ChatErrorKind.InvalidRequest, "messages[0].role" },
        { "missing content", """{"messages": [{"role": "user"}]}""", ChatErrorKind.InvalidRequest, "messages[0].content" },
        { "content a number", """{"messages": [{"role": "user", "content": 5}]}""", ChatErrorKind.InvalidRequest, "messages[0].content" },
        { "image part", """{"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}]}]}""", ChatErrorKind.Unsupported, "messages[0].content[1].type" },
        { "text part without text", """{"messages": [{"role": "user", "content": [{"type": "text"}]}]}""", ChatErrorKind.InvalidRequest, "messages[0].content[0].text" },
        { "name not a string", """{"messages": [{"role": "user", "content": "a", "name": 3}]}""", ChatErrorKind.InvalidRequest, "messages[0].name" },
        { "tool_calls not an array", """{"messages": [{"role": "assistant", "content": "", "tool_calls": {}}]}""", ChatErrorKind.InvalidRequest, "messages[0].tool_calls" },
        { "tool call without a name", """{"messages": [{"role": "assistant", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}]}""", ChatErrorKind.InvalidRequest, "messages[0].tool_calls[0].function.name" },
        { "tools not an array", """{"messages": [{"role": "user", "content": "a"}], "tools": {"type": "function"}}""", ChatErrorKind.InvalidRequest, "tools" },
        { "tool not an object", """{"messages": [{"role": "user", "content": "a"}], "tools": ["f"]}""", ChatErrorKind.InvalidRequest, "tools[0]" },
        { "tool of another type", """{"messages": [{"role": "user", "content": "a"}], "tools": [{"type": "retrieval"}]}""", ChatErrorKind.Unsupported, "tools[0].type" },
        { "tool without a function name", """{"messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function", "function": {}}]}""", ChatErrorKind.InvalidRequest, "tools[0].function.name" },
        { "add_generation_prompt not a boolean", """{"messages": [{"role": "user", "content": "a"}], "add_generation_prompt": "yes"}""", ChatErrorKind.InvalidRequest, "add_generation_prompt" },
        { "continue_final_message not a boolean", """{"messages": [{"role": "user", "content": "a"}], "continue_final_message": 1}""", ChatErrorKind.InvalidRequest, "continue_final_message" },
        { "kwargs not an object", """{"messages": [{"role": "user", "content": "a"}], "chat_template_kwargs": [1]}""", ChatErrorKind.InvalidRequest, "chat_template_kwargs" },
        { "kwargs setting messages", """{"messages": [{"role": "user", "content": "a"}], "chat_template_kwargs": {"add_generation_prompt": false}}""", ChatErrorKind.InvalidRequest, "chat_template_kwargs.add_generation_prompt" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public void A_bad_chat_field_gets_its_contract_code_and_a_message_naming_the_field(string what, string json, ChatErrorKind kind, string field)
    {
        var e = Assert.Throws<ChatRequestException>(() => Read(json));
        Assert.True(kind == e.Kind, $"{what}: {e.Kind} ({e.Message})");
        Assert.Equal(field, e.Field);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.Equal(ChatErrors.Code(kind), ChatErrors.Code(ChatErrors.KindOf(e)!.Value));
    }

    [Fact]
    public void Messages_are_never_quoted_back_in_errors()
    {
        var e = Assert.Throws<ChatRequestException>(() => Read("""{"messages": [{"role": "SECRET-ROLE", "content": "a"}]}"""));
        Assert.DoesNotContain("SECRET", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_request_reads_into_typed_fields()
    {
        var request = Read("""
            {"request_id": "r", "max_tokens": 4,
             "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "name": "ann"},
                          {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]},
                          {"role": "tool", "content": "ok", "tool_call_id": "c1"}],
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
             "add_generation_prompt": false, "chat_template_kwargs": {"enable_thinking": false}}
            """);
        Assert.Equal(4, request.Messages.Count);
        Assert.Equal("a\nb", request.Messages[1].Text);
        Assert.Equal("ann", request.Messages[1].Name);
        Assert.Null(request.Messages[2].Content);
        Assert.Equal(new ChatToolCall("c1", "f", """{"x": 1}"""), request.Messages[2].ToolCalls![0]);
        Assert.Equal("c1", request.Messages[3].ToolCallId);
        Assert.Single(request.Tools!);
        Assert.False(request.AddGenerationPrompt);
        Assert.False(request.ContinueFinalMessage);
        Assert.False((bool)request.ChatTemplateKwargs!["enable_thinking"]!);
    }

    [Fact]
    public void Absent_optional_fields_keep_their_contract_defaults()
    {
        var request = Read("""{"messages": [{"role": "user", "content": "a"}]}""");
        Assert.Null(request.AddGenerationPrompt);
        Assert.False(request.ContinueFinalMessage);
        Assert.Null(request.Tools);
        Assert.Null(request.ChatTemplateKwargs);
    }
}
