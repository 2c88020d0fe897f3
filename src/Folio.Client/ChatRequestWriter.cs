using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Folio.Client;

/// <summary>
/// Writes a Microsoft.Extensions.AI chat call as the JSON of a chat request (docs/contract.md
/// sections 1 and 6.1): messages (text as a string or text parts, tool calls in OpenAI's shape with
/// JSON-text arguments, tool results as tool messages), tools as OpenAI function tools, and the
/// options the contract has. What the contract cannot carry is refused here, before publishing,
/// with a <see cref="NotSupportedException"/> that names it.
/// </summary>
internal static class ChatRequestWriter
{
    /// <summary>ChatOptions.AdditionalProperties keys passed through as contract fields of the same name.</summary>
    internal static readonly IReadOnlyList<string> PassThroughKeys =
        ["chat_template_kwargs", "add_generation_prompt", "continue_final_message", "min_tokens", "min_p", "repetition_penalty", "ignore_eos", "priority", "stop_token_ids", "logprobs", "deadline_ms"];

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(string requestId, IEnumerable<ChatMessage> messages, ChatOptions? options, FolioChatClientOptions clientOptions)
    {
        ArgumentNullException.ThrowIfNull(messages);
        CheckSupported(options);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Relaxed.Encoder }))
        {
            w.WriteStartObject();
            w.WriteString("request_id", requestId);
            w.WriteStartArray("messages");
            if (!string.IsNullOrEmpty(options?.Instructions))
            {
                WriteMessage(w, "system", [new TextContent(options.Instructions)], null);
            }

            foreach (var message in messages)
            {
                WriteMessage(w, message.Role.Value, message.Contents, message.AuthorName);
            }

            w.WriteEndArray();
            WriteTools(w, options);
            WriteSampling(w, options, clientOptions);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void CheckSupported(ChatOptions? options)
    {
        switch (options?.ResponseFormat)
        {
            case null or ChatResponseFormatText:
                break;
            case ChatResponseFormatJson:
                throw new NotSupportedException("ChatOptions.ResponseFormat JSON is not supported by FolioChatClient yet: the worker's structured output (response_format) is not wired to the client; leave ResponseFormat unset or Text.");
            default:
                throw new NotSupportedException($"ChatOptions.ResponseFormat {options.ResponseFormat.GetType().Name} is not supported; leave it unset or Text.");
        }

        if (options?.ToolMode is RequiredChatToolMode)
        {
            throw new NotSupportedException("ChatOptions.ToolMode RequireAny/RequireSpecific is not supported: the contract has no tool_choice; use Auto or None.");
        }
    }

    private static void WriteMessage(Utf8JsonWriter w, string role, IList<AIContent> contents, string? name)
    {
        // Tool results each become their own tool message, as OpenAI's wire format has them.
        foreach (var result in contents.OfType<FunctionResultContent>())
        {
            w.WriteStartObject();
            w.WriteString("role", "tool");
            w.WriteString("content", ResultText(result.Result));
            w.WriteString("tool_call_id", result.CallId);
            w.WriteEndObject();
        }

        var texts = new List<string>();
        var calls = new List<FunctionCallContent>();
        foreach (var content in contents)
        {
            switch (content)
            {
                case TextContent text:
                    texts.Add(text.Text);
                    break;
                case FunctionCallContent call:
                    calls.Add(call);
                    break;
                case FunctionResultContent or TextReasoningContent or UsageContent:
                    // Results are written above; earlier reasoning and usage are not part of the prompt.
                    break;
                default:
                    throw new NotSupportedException($"{content.GetType().Name} in a {role} message is not supported: Folio chat requests carry text, function calls and function results only.");
            }
        }

        if (texts.Count == 0 && calls.Count == 0)
        {
            return;
        }

        w.WriteStartObject();
        w.WriteString("role", role);
        if (texts.Count == 1)
        {
            w.WriteString("content", texts[0]);
        }
        else if (texts.Count > 1)
        {
            w.WriteStartArray("content");
            foreach (var text in texts)
            {
                w.WriteStartObject();
                w.WriteString("type", "text");
                w.WriteString("text", text);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("content");
        }

        if (name is not null)
        {
            w.WriteString("name", name);
        }

        if (calls.Count > 0)
        {
            w.WriteStartArray("tool_calls");
            foreach (var call in calls)
            {
                w.WriteStartObject();
                w.WriteString("id", call.CallId);
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", call.Name);
                w.WriteString("arguments", JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), Relaxed));
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static string ResultText(object? result) => result switch
    {
        null => string.Empty,
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => JsonSerializer.Serialize(result, Relaxed),
    };

    private static void WriteTools(Utf8JsonWriter w, ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools || options.ToolMode is NoneChatToolMode)
        {
            return;
        }

        w.WriteStartArray("tools");
        foreach (var tool in tools)
        {
            if (tool is not AIFunctionDeclaration function)
            {
                throw new NotSupportedException($"The tool {tool.Name} ({tool.GetType().Name}) is not supported: Folio passes function tools only.");
            }

            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", function.Name);
            if (!string.IsNullOrEmpty(function.Description))
            {
                w.WriteString("description", function.Description);
            }

            w.WritePropertyName("parameters");
            function.JsonSchema.WriteTo(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteSampling(Utf8JsonWriter w, ChatOptions? options, FolioChatClientOptions clientOptions)
    {
        if ((options?.MaxOutputTokens ?? clientOptions.DefaultMaxOutputTokens) is int maxTokens)
        {
            w.WriteNumber("max_tokens", maxTokens);
        }

        if (options is null)
        {
            return;
        }

        if (options.Temperature is float temperature) w.WriteNumber("temperature", Math.Round((double)temperature, 6));
        if (options.TopP is float topP) w.WriteNumber("top_p", Math.Round((double)topP, 6));
        if (options.TopK is int topK) w.WriteNumber("top_k", topK);
        if (options.PresencePenalty is float presence) w.WriteNumber("presence_penalty", Math.Round((double)presence, 6));
        if (options.FrequencyPenalty is float frequency) w.WriteNumber("frequency_penalty", Math.Round((double)frequency, 6));
        if (options.Seed is long seed) w.WriteNumber("seed", seed);
        if (options.ModelId is { Length: > 0 } model) w.WriteString("model", model);
        if (options.StopSequences is { Count: > 0 } stops)
        {
            w.WriteStartArray("stop");
            foreach (var stop in stops)
            {
                w.WriteStringValue(stop);
            }

            w.WriteEndArray();
        }

        foreach (var key in PassThroughKeys)
        {
            if (options.AdditionalProperties?.TryGetValue(key, out var value) == true)
            {
                w.WritePropertyName(key);
                JsonSerializer.Serialize(w, value, Relaxed);
            }
        }
    }
}
