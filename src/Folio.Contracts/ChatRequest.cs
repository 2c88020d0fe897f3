namespace Folio.Contracts;

/// <summary>
/// The chat fields of a request (docs/contract.md section 6.1), validated by the parser. The messages
/// and tools stay JSON as the publisher wrote them: a chat template sees exactly what a Hugging Face
/// template would (a string content stays a string, a list of parts stays a list).
/// </summary>
/// <param name="MessagesJson">The <c>messages</c> array, as JSON.</param>
/// <param name="ToolsJson">The <c>tools</c> array, as JSON, or null.</param>
/// <param name="AddGenerationPrompt">Whether the template appends the assistant's turn opening (default true).</param>
/// <param name="ContinueFinalMessage">Whether the last (assistant) message is continued rather than closed.</param>
/// <param name="TemplateKwargsJson">The <c>chat_template_kwargs</c> object, as JSON, or null.</param>
public sealed record ChatRequest(string MessagesJson, string? ToolsJson, bool AddGenerationPrompt, bool ContinueFinalMessage, string? TemplateKwargsJson);

/// <summary>What kind of output constraint a request carries.</summary>
public enum OutputConstraintKind
{
    /// <summary>A JSON document valid against a JSON Schema.</summary>
    JsonSchema,

    /// <summary>Any JSON object.</summary>
    JsonObject,

    /// <summary>A full match of a regular expression.</summary>
    Regex,

    /// <summary>One of a list of strings.</summary>
    Choice,

    /// <summary>A sentence of a GBNF grammar (llama.cpp's format).</summary>
    Grammar,
}

/// <summary>
/// The output constraint of a request (docs/contract.md section 6.2), as the publisher gave it:
/// compiling it (and refusing what cannot be compiled) is the engine's job.
/// </summary>
/// <param name="Kind">The kind of constraint.</param>
/// <param name="Text">The schema (JSON text), the pattern or the grammar; null for <see cref="OutputConstraintKind.JsonObject"/> and <see cref="OutputConstraintKind.Choice"/>.</param>
/// <param name="Choices">The choices of <see cref="OutputConstraintKind.Choice"/>.</param>
/// <param name="Strict">JSON Schema: refuse keywords the compiler lacks (always true here: nothing is silently ignored).</param>
/// <param name="Field">The request field it came from, for error messages (e.g. <c>response_format.json_schema.schema</c>).</param>
public sealed record OutputConstraint(OutputConstraintKind Kind, string? Text, IReadOnlyList<string>? Choices, bool Strict, string Field);
