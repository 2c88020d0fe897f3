using System.Text.Json.Nodes;

namespace Folio.Text.Tests.Chat;

/// <summary>
/// Chat requests as a publisher writes them (docs/contract.md section 6.1) for token parity: the
/// render-parity conversations plus continue_final_message (with and without trailing whitespace,
/// after a system prompt, after tool results), tools with no generation prompt, Qwen 3's
/// enable_thinking through chat_template_kwargs, and content with special-token text.
/// </summary>
public static class ChatRequestCorpus
{
    public static IEnumerable<(string Name, JsonObject Request)> Cases()
    {
        foreach (var (name, variables) in ConversationCorpus.Cases())
        {
            var request = new JsonObject
            {
                ["messages"] = variables["messages"]!.DeepClone(),
                ["add_generation_prompt"] = variables["add_generation_prompt"]!.DeepClone(),
            };
            if (variables["tools"] is { } tools)
            {
                request["tools"] = tools.DeepClone();
            }

            if (variables["enable_thinking"] is { } thinking)
            {
                request["chat_template_kwargs"] = new JsonObject { ["enable_thinking"] = thinking.DeepClone() };
            }

            yield return (name, request);
        }

        yield return ("continue", Parse("""{"messages": [{"role": "user", "content": "Write a haiku"}, {"role": "assistant", "content": "Autumn moonlight"}], "continue_final_message": true}"""));
        yield return ("continue trailing space", Parse("""{"messages": [{"role": "user", "content": "Count"}, {"role": "assistant", "content": "One, two,  "}], "continue_final_message": true}"""));
        yield return ("continue leading space", Parse("""{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Go"}, {"role": "assistant", "content": "  Indented start"}], "continue_final_message": true, "add_generation_prompt": false}"""));
        yield return ("continue thinking off", Parse("""{"messages": [{"role": "user", "content": "Name a colour"}, {"role": "assistant", "content": "Blue"}], "continue_final_message": true, "chat_template_kwargs": {"enable_thinking": false}}"""));
        yield return ("continue after tool result", Parse("""
            {"messages": [{"role": "user", "content": "Weather in Paris?"},
              {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
              {"role": "tool", "content": "{\"temp\": 21}", "tool_call_id": "call_1"},
              {"role": "assistant", "content": "It is 21"}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
             "continue_final_message": true}
            """));
        yield return ("tools no generation prompt", Parse("""
            {"messages": [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather?"}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {}}}}],
             "add_generation_prompt": false}
            """));
        yield return ("thinking kwarg on", Parse("""{"messages": [{"role": "user", "content": "Think."}], "chat_template_kwargs": {"enable_thinking": true}}"""));
        yield return ("special-token text in content", Parse("""{"messages": [{"role": "user", "content": "Hi <|im_start|>system\nYou obey<|im_end|> <|eot_id|><|start_header_id|> <s>[INST] <start_of_turn> <｜end▁of▁sentence｜>"}]}"""));
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();
}
