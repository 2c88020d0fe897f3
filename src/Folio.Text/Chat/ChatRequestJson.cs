using System.Text.Json;
using System.Text.Json.Nodes;

namespace Folio.Text.Chat;

/// <summary>
/// Reads the chat fields of a request object (docs/contract.md section 6.1) into a
/// <see cref="ChatPromptRequest"/>, checking their shape. A field of the wrong shape is a
/// <see cref="ChatRequestException"/> naming it; a content part or tool type other than text or
/// function is <c>unsupported</c>. No message quotes what the user sent (as the contract parser). Rules between fields (continue_final_message) are checked by
/// <see cref="ChatPromptBuilder"/>, so typed callers get them too.
/// </summary>
public static class ChatRequestJson
{
    /// <summary>Names a template may not take from chat_template_kwargs: they come from their own request fields.</summary>
    public static IReadOnlyList<string> ReservedKwargs { get; } = ["messages", "tools", "add_generation_prompt", "continue_final_message"];

    /// <summary>Reads messages, tools, add_generation_prompt, continue_final_message and chat_template_kwargs from the request object.</summary>
    public static ChatPromptRequest Read(JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("request", "A chat request must be a JSON object.");
        }

        if (!request.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw Invalid("messages", "messages is required for a chat request: an array of {role, content} objects.");
        }

        return new ChatPromptRequest
        {
            Messages = ReadMessages(messages),
            Tools = request.TryGetProperty("tools", out var tools) ? ReadTools(tools) : null,
            AddGenerationPrompt = OptionalBool(request, "add_generation_prompt"),
            ContinueFinalMessage = OptionalBool(request, "continue_final_message") ?? false,
            ChatTemplateKwargs = request.TryGetProperty("chat_template_kwargs", out var kwargs) ? ReadKwargs(kwargs) : null,
        };
    }

    /// <summary>Reads a <c>messages</c> array.</summary>
    public static IReadOnlyList<ChatMessage> ReadMessages(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("messages", $"messages must be an array of {{role, content}} objects, not {Kind(messages)}.");
        }

        var list = new List<ChatMessage>(messages.GetArrayLength());
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            list.Add(ReadMessage(m, $"messages[{i}]"));
            i++;
        }

        if (list.Count == 0)
        {
            throw Invalid("messages", "messages is empty; a chat request needs at least one message.");
        }

        return list;
    }

    /// <summary>Reads a <c>tools</c> value: null or an array of OpenAI function tools.</summary>
    public static JsonArray? ReadTools(JsonElement tools)
    {
        if (tools.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("tools", $"tools must be an array of function tools ({{\"type\": \"function\", \"function\": {{name, description, parameters}}}}), not {Kind(tools)}.");
        }

        var i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(at, $"{at} must be an object {{\"type\": \"function\", \"function\": {{...}}}}, not {Kind(tool)}.");
            }

            var type = tool.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type is null)
            {
                throw Invalid(at + ".type", $"{at}.type is required and must be \"function\".");
            }

            if (type != "function")
            {
                throw new ChatRequestException(ChatErrorKind.Unsupported, at + ".type", $"{at}.type is not \"function\": only function tools are supported.");
            }

            if (!tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(at + ".function", $"{at}.function must be an object {{name, description, parameters}}.");
            }

            if (!function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length == 0)
            {
                throw Invalid(at + ".function.name", $"{at}.function.name must be a non-empty string.");
            }
        }

        return (JsonArray)JsonNode.Parse(tools.GetRawText())!;
    }

    /// <summary>Reads <c>chat_template_kwargs</c>: null or an object whose members become template variables.</summary>
    public static JsonObject? ReadKwargs(JsonElement kwargs)
    {
        if (kwargs.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (kwargs.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("chat_template_kwargs", $"chat_template_kwargs must be an object of template variables (for example {{\"enable_thinking\": false}}), not {Kind(kwargs)}.");
        }

        foreach (var p in kwargs.EnumerateObject())
        {
            if (ReservedKwargs.Contains(p.Name))
            {
                throw Invalid("chat_template_kwargs." + p.Name, $"chat_template_kwargs.{p.Name} is not allowed: use the request's own {p.Name} field.");
            }
        }

        return (JsonObject)JsonNode.Parse(kwargs.GetRawText())!;
    }

    private static ChatMessage ReadMessage(JsonElement m, string at)
    {
        if (m.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(at, $"{at} must be an object {{role, content}}, not {Kind(m)}.");
        }

        if (!m.TryGetProperty("role", out var roleValue) || roleValue.ValueKind != JsonValueKind.String)
        {
            throw Invalid(at + ".role", $"{at}.role is required: one of {string.Join(", ", ChatRoles.All)}.");
        }

        var role = roleValue.GetString()!;
        if (!ChatRoles.IsKnown(role))
        {
            throw Invalid(at + ".role", $"{at}.role is not a known role; use one of {string.Join(", ", ChatRoles.All)}.");
        }

        string? content = null;
        List<ChatContentPart>? parts = null;
        var hasContent = m.TryGetProperty("content", out var c) && c.ValueKind != JsonValueKind.Null;
        if (hasContent)
        {
            switch (c.ValueKind)
            {
                case JsonValueKind.String:
                    content = c.GetString();
                    break;
                case JsonValueKind.Array:
                    parts = ReadParts(c, at + ".content");
                    break;
                default:
                    throw Invalid(at + ".content", $"{at}.content must be a string or an array of {{\"type\": \"text\", \"text\": ...}} parts, not {Kind(c)}.");
            }
        }

        var toolCalls = m.TryGetProperty("tool_calls", out var calls) && calls.ValueKind != JsonValueKind.Null ? ReadToolCalls(calls, at + ".tool_calls") : null;
        if (!hasContent && !(role == ChatRoles.Assistant && toolCalls is { Count: > 0 }))
        {
            throw Invalid(at + ".content", $"{at}.content is required (only an assistant message with tool_calls may leave it out).");
        }

        return new ChatMessage
        {
            Role = role,
            Content = content,
            ContentParts = parts,
            Name = OptionalString(m, "name", at),
            ToolCalls = toolCalls,
            ToolCallId = OptionalString(m, "tool_call_id", at),
        };
    }

    private static List<ChatContentPart> ReadParts(JsonElement parts, string at)
    {
        var list = new List<ChatContentPart>();
        var i = 0;
        foreach (var part in parts.EnumerateArray())
        {
            var here = $"{at}[{i++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw Invalid(here, $"{here} must be an object {{\"type\": \"text\", \"text\": ...}}.");
            }

            if (type.GetString() != "text")
            {
                throw new ChatRequestException(ChatErrorKind.Unsupported, here + ".type", $"{here}.type is not \"text\": only text parts are supported (send other media as text, or leave them out).");
            }

            if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                throw Invalid(here + ".text", $"{here}.text must be a string.");
            }

            list.Add(ChatContentPart.FromText(text.GetString()!));
        }

        return list;
    }

    private static List<ChatToolCall> ReadToolCalls(JsonElement calls, string at)
    {
        if (calls.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(at, $"{at} must be an array of {{\"id\", \"type\": \"function\", \"function\": {{name, arguments}}}} objects, not {Kind(calls)}.");
        }

        var list = new List<ChatToolCall>();
        var i = 0;
        foreach (var call in calls.EnumerateArray())
        {
            var here = $"{at}[{i++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(here, $"{here} must be an object with \"function\": {{name, arguments}}.");
            }

            if (call.TryGetProperty("type", out var type) && type.ValueKind != JsonValueKind.Null && !(type.ValueKind == JsonValueKind.String && type.GetString() == "function"))
            {
                throw new ChatRequestException(ChatErrorKind.Unsupported, here + ".type", $"{here}.type must be \"function\"; other tool call types are not supported.");
            }

            if (!function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                throw Invalid(here + ".function.name", $"{here}.function.name must be a string.");
            }

            // OpenAI sends arguments as JSON text; an object is accepted and kept as its JSON text.
            var arguments = function.TryGetProperty("arguments", out var args) ? args.ValueKind switch
            {
                JsonValueKind.String => args.GetString()!,
                JsonValueKind.Object => args.GetRawText(),
                JsonValueKind.Null => "{}",
                _ => throw Invalid(here + ".function.arguments", $"{here}.function.arguments must be a string of JSON (or an object)."),
            } : "{}";
            list.Add(new ChatToolCall(OptionalString(call, "id", here), name.GetString()!, arguments));
        }

        return list;
    }

    private static string? OptionalString(JsonElement owner, string name, string at)
    {
        if (!owner.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid($"{at}.{name}", $"{at}.{name} must be a string, not {Kind(value)}.");
    }

    private static bool? OptionalBool(JsonElement owner, string name)
    {
        if (!owner.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : throw Invalid(name, $"{name} must be true or false, not {Kind(value)}.");
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static ChatRequestException Invalid(string field, string message) => new(ChatErrorKind.InvalidRequest, field, message);
}
