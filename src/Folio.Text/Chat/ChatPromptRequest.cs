using System.Text.Json.Nodes;

namespace Folio.Text.Chat;

/// <summary>The chat fields of a request (docs/contract.md section 6.1), ready for <see cref="ChatPromptBuilder"/>.</summary>
public sealed record ChatPromptRequest
{
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>OpenAI function tools, passed to the template as <c>tools</c> (none when null).</summary>
    public JsonArray? Tools { get; init; }

    /// <summary>Null when the request did not say (then true, or false with <see cref="ContinueFinalMessage"/>).</summary>
    public bool? AddGenerationPrompt { get; init; }

    /// <summary>The last message must be an assistant's; its text is continued, not closed.</summary>
    public bool ContinueFinalMessage { get; init; }

    /// <summary>Extra template variables (for example {"enable_thinking": false}).</summary>
    public JsonObject? ChatTemplateKwargs { get; init; }
}
