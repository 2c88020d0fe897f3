namespace Folio.Text.Chat;

/// <summary>The roles docs/contract.md section 6.1 allows in <c>messages</c>.</summary>
public static class ChatRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";

    public static IReadOnlyList<string> All { get; } = [System, User, Assistant, Tool];

    public static bool IsKnown(string? role) => role is System or User or Assistant or Tool;
}

/// <summary>
/// One message of a chat request (OpenAI shape). Content is either <see cref="Content"/> (a string) or
/// <see cref="ContentParts"/> (text parts); an assistant message that only calls tools may have neither.
/// </summary>
public sealed record ChatMessage
{
    public ChatMessage()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public ChatMessage(string role, string? content)
    {
        Role = role;
        Content = content;
    }

    /// <summary>system, user, assistant or tool (<see cref="ChatRoles"/>).</summary>
    public required string Role { get; init; }

    public string? Content { get; init; }

    /// <summary>Content given as parts; only type "text" is supported (others are refused as unsupported).</summary>
    public IReadOnlyList<ChatContentPart>? ContentParts { get; init; }

    /// <summary>The participant's name (OpenAI "name"), passed to the template when given.</summary>
    public string? Name { get; init; }

    /// <summary>Tool calls an assistant message made.</summary>
    public IReadOnlyList<ChatToolCall>? ToolCalls { get; init; }

    /// <summary>The call a tool message answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>The text the template sees: the string, or the text parts joined by newlines (vLLM's rule for string-content templates).</summary>
    public string? Text => Content ?? (ContentParts is { } parts ? string.Join('\n', parts.Select(p => p.Text)) : null);
}

/// <summary>One part of a message's content; <see cref="Type"/> "text" carries <see cref="Text"/>.</summary>
public sealed record ChatContentPart(string Type, string? Text)
{
    public static ChatContentPart FromText(string text) => new("text", text);
}

/// <summary>
/// A function call an assistant made, as OpenAI writes it: <c>{"id", "type": "function", "function": {"name", "arguments"}}</c>,
/// <see cref="Arguments"/> being the JSON text of the arguments.
/// </summary>
public sealed record ChatToolCall(string? Id, string Name, string Arguments);
