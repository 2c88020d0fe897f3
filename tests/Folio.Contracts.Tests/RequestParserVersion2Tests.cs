using System.Text;

namespace Folio.Contracts.Tests;

/// <summary>docs/contract.md section 6.1 (chat) and 6.2 (structured output): what parses, and every rule a publisher can break, named.</summary>
public sealed class RequestParserVersion2Tests
{
    private static RequestParseResult Parse(string json) => RequestParser.Parse(Encoding.UTF8.GetBytes(json));

    private static RequestError Refused(string json)
    {
        var r = Parse(json);
        Assert.False(r.IsValid);
        Assert.Equal("v2", r.Error!.RequestId);
        return r.Error;
    }

    [Fact]
    public void A_chat_request_keeps_messages_and_tools_as_the_publisher_wrote_them()
    {
        var r = Parse("""
            {"request_id": "v2", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "chat_template_kwargs": {"enable_thinking": false}}
            """);
        var chat = r.Request!.Chat!;
        Assert.Null(r.Request.Prompt);
        Assert.Contains("\"be brief\"", chat.MessagesJson, StringComparison.Ordinal);
        Assert.Contains("[{\"type\": \"text\"", chat.MessagesJson, StringComparison.Ordinal);
        Assert.Contains("\"name\": \"f\"", chat.ToolsJson, StringComparison.Ordinal);
        Assert.True(chat.AddGenerationPrompt);
        Assert.False(chat.ContinueFinalMessage);
        Assert.Equal("{\"enable_thinking\": false}", chat.TemplateKwargsJson);
    }

    [Fact]
    public void Continue_final_message_turns_the_generation_prompt_off_and_round_trips()
    {
        var r = Parse("""{"request_id": "v2", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "The answer is"}], "continue_final_message": true}""");
        Assert.True(r.Request!.Chat!.ContinueFinalMessage);
        Assert.False(r.Request.Chat.AddGenerationPrompt);
        var again = RequestParser.Parse(RequestSerializer.ToUtf8Json(r.Request));
        Assert.Equal(r.Request.Chat, again.Request!.Chat);
    }

    [Theory]
    [InlineData("""{"request_id": "v2", "prompt": "x", "messages": [{"role": "user", "content": "a"}]}""", "exactly one of prompt, prompt_token_ids and messages")]
    [InlineData("""{"request_id": "v2", "messages": []}""", "messages must be a non-empty array")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "boss", "content": "a"}]}""", "messages[0].role must be one of")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user"}]}""", "messages[0].content is required")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user", "content": 5}]}""", "messages[0].content must be a string or an array")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user", "content": [{"type": "text"}]}]}""", "messages[0].content[0].text must be a string")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user", "content": "a"}], "tools": {}}""", "tools must be an array")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function"}]}""", "tools[0].function must be an object")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user", "content": "a"}], "continue_final_message": true}""", "continue_final_message needs the last message to be an assistant message")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "assistant", "content": "a"}], "continue_final_message": true, "add_generation_prompt": true}""", "cannot be combined with add_generation_prompt")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user", "content": "a"}], "chat_template_kwargs": [1]}""", "chat_template_kwargs must be an object")]
    [InlineData("""{"request_id": "v2", "messages": [{"role": "user", "content": "\udc00"}]}""", "messages[0].content holds an unpaired")]
    public void A_broken_chat_rule_is_an_invalid_request_naming_the_field(string json, string expected)
    {
        var e = Refused(json);
        Assert.Equal(ErrorCodes.InvalidRequest, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_text_content_part_is_unsupported_naming_the_part()
    {
        var e = Refused("""{"request_id": "v2", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""");
        Assert.Equal(ErrorCodes.Unsupported, e.Code);
        Assert.StartsWith("messages[0].content[0].type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_assistant_turn_with_only_tool_calls_needs_no_content()
    {
        var r = Parse("""{"request_id": "v2", "messages": [{"role": "user", "content": "weather?"}, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]}""");
        Assert.True(r.IsValid, r.Error?.Message);
    }

    [Theory]
    [InlineData("""{"response_format": {"type": "json_object"}}""", OutputConstraintKind.JsonObject, null)]
    [InlineData("""{"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "integer"}, "strict": true}}}""", OutputConstraintKind.JsonSchema, "{\"type\": \"integer\"}")]
    [InlineData("""{"structured_outputs": {"json": {"type": "boolean"}}}""", OutputConstraintKind.JsonSchema, "{\"type\": \"boolean\"}")]
    [InlineData("""{"structured_outputs": {"regex": "[a-z]+"}}""", OutputConstraintKind.Regex, "[a-z]+")]
    [InlineData("""{"structured_outputs": {"grammar": "root ::= \"a\""}}""", OutputConstraintKind.Grammar, "root ::= \"a\"")]
    public void Each_constraint_form_parses_to_its_kind(string fields, OutputConstraintKind kind, string? text)
    {
        var json = """{"request_id": "v2", "prompt": "x", """ + fields.TrimStart('{');
        var c = Parse(json).Request!.Constraint!;
        Assert.Equal(kind, c.Kind);
        Assert.Equal(text, c.Text);
    }

    [Fact]
    public void Choices_parse_and_a_text_response_format_is_no_constraint()
    {
        var c = Parse("""{"request_id": "v2", "prompt": "x", "structured_outputs": {"choice": ["yes", "no"]}}""").Request!.Constraint!;
        Assert.Equal(["yes", "no"], c.Choices);
        Assert.Null(Parse("""{"request_id": "v2", "prompt": "x", "response_format": {"type": "text"}}""").Request!.Constraint);
    }

    [Theory]
    [InlineData("""{"request_id": "v2", "prompt": "x", "response_format": {"type": "json_object"}, "structured_outputs": {"regex": "a"}}""", "not both")]
    [InlineData("""{"request_id": "v2", "prompt": "x", "response_format": {"type": "yaml"}}""", "response_format.type must be text, json_object or json_schema")]
    [InlineData("""{"request_id": "v2", "prompt": "x", "response_format": {"type": "json_schema", "json_schema": {"schema": 5}}}""", "response_format.json_schema.schema must be a JSON Schema object")]
    [InlineData("""{"request_id": "v2", "prompt": "x", "structured_outputs": {"regex": "a", "choice": ["b"]}}""", "exactly one of json, regex, choice, grammar; got regex, choice")]
    [InlineData("""{"request_id": "v2", "prompt": "x", "structured_outputs": {"choice": []}}""", "structured_outputs.choice must be a non-empty array")]
    [InlineData("""{"request_id": "v2", "prompt": "x", "structured_outputs": {"grammar": ""}}""", "structured_outputs.grammar must be a non-empty string")]
    public void A_broken_constraint_rule_is_an_invalid_request_naming_it(string json, string expected) =>
        Assert.Contains(expected, Refused(json).Message, StringComparison.Ordinal);

    [Fact]
    public void Every_constraint_round_trips_through_the_serializer()
    {
        foreach (var fields in new[] { """{"structured_outputs": {"json": {"type": "boolean"}}}""", """{"structured_outputs": {"choice": ["a", "b"]}}""", """{"response_format": {"type": "json_object"}}""", """{"structured_outputs": {"regex": "x+"}}""" })
        {
            var r = Parse("""{"request_id": "v2", "prompt": "x", """ + fields.TrimStart('{')).Request!;
            var again = RequestParser.Parse(RequestSerializer.ToUtf8Json(r)).Request!;
            Assert.Equal(r.Constraint!.Kind, again.Constraint!.Kind);
            Assert.Equal(r.Constraint.Choices, again.Constraint.Choices);
        }
    }
}
