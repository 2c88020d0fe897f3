using System.Text.Json;
using Folio.Text.Chat.Jinja;
using Folio.Text.Tokenization;

namespace Folio.Text.Chat;

/// <summary>
/// Turns a chat request into the model's prompt as Hugging Face's
/// <c>apply_chat_template(messages, tools=..., add_generation_prompt=..., continue_final_message=..., tokenize=True, **kwargs)</c>
/// does: the template rendered with messages, tools, documents (none), add_generation_prompt, the
/// model's special-token strings and the kwargs, then tokenized without adding special tokens (the
/// template writes BOS where the model wants it). Thread-safe; build one per model and share it.
/// Failures are typed: <see cref="ChatRequestException"/> (the request's fields),
/// <see cref="ChatTemplateUnsupportedException"/> and <see cref="ChatTemplateRaisedException"/>
/// (the template); <see cref="ChatErrors"/> maps them to contract codes.
/// </summary>
public sealed class ChatPromptBuilder
{
    private readonly ITokenizer _tokenizer;

    /// <param name="template">The model's template; null when it has none (every request is then refused as unsupported).</param>
    public ChatPromptBuilder(ChatTemplate? template, ITokenizer tokenizer, ChatPromptOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        Template = template;
        _tokenizer = tokenizer;
        Options = options ?? new ChatPromptOptions();
        if (Options.ContentSpecialTokens == ContentSpecialTokens.Plain)
        {
            // Fails now, at start-up, for a tokenizer that cannot keep special-token text plain.
            tokenizer.EncodeWithPlainRanges("plain", [new TextRange(0, 5)]);
        }
    }

    public ChatTemplate? Template { get; }

    public ChatPromptOptions Options { get; }

    /// <summary>Renders and tokenizes a request.</summary>
    public ChatPrompt Build(ChatPromptRequest request)
    {
        var (text, plainRanges, name) = RenderCore(request);
        var ids = plainRanges.Count > 0 ? _tokenizer.EncodeWithPlainRanges(text, plainRanges) : _tokenizer.Encode(text, addSpecialTokens: false);
        return new ChatPrompt(text, ids, name);
    }

    /// <summary>Only renders: the exact prompt text <see cref="Build"/> would tokenize.</summary>
    public string Render(ChatPromptRequest request) => RenderCore(request).Text;

    private (string Text, List<TextRange> PlainRanges, string TemplateName) RenderCore(ChatPromptRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var template = Template ?? throw new ChatTemplateUnsupportedException(
            "chat template",
            "This model has no chat template (none in tokenizer_config.json, chat_template.jinja, chat_template.json or the GGUF metadata), so it cannot take messages; send prompt instead, or give the worker a template file with Folio:Model:ChatTemplate.");
        Validate(request);
        var addGenerationPrompt = request.AddGenerationPrompt ?? !request.ContinueFinalMessage;

        // The values that come from the request, in the shapes transformers hands the template.
        var messages = request.Messages.Select((m, i) => (object?)MessageValue(m, i)).ToList();
        var tools = request.Tools is null ? null : TemplateValues.From(request.Tools);
        var kwargs = request.ChatTemplateKwargs is null ? null : (Dictionary<string, object?>?)TemplateValues.From(request.ChatTemplateKwargs);
        var finalText = request.ContinueFinalMessage ? request.Messages[^1].Text ?? string.Empty : null;

        ContentProtection? protection = null;
        if (Options.ContentSpecialTokens == ContentSpecialTokens.Plain)
        {
            protection = new ContentProtection(_tokenizer, template.Templates.Values, new List<object?> { messages, tools, kwargs, finalText });
            messages = (List<object?>)protection.Protect(messages)!;
            tools = protection.Protect(tools);
            kwargs = (Dictionary<string, object?>?)protection.Protect(kwargs);
            finalText = finalText is null ? null : protection.ProtectString(finalText);
        }

        var variables = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = messages,
            ["tools"] = tools,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        foreach (var (key, value) in template.SpecialTokens.ToVariables())
        {
            variables[key] = value;
        }

        foreach (var (key, value) in kwargs ?? [])
        {
            variables[key] = value;
        }

        var name = template.SelectName(request.Tools is not null);
        var rendered = template.Select(request.Tools is not null).Render(variables, Options.Limits, Options.Clock);
        if (finalText is not null)
        {
            rendered = FinalMessageContinuation.Apply(rendered, finalText);
        }

        var (text, ranges) = protection?.Restore(rendered) ?? (rendered, []);
        return (text, ranges, name);
    }

    /// <summary>The rules a typed caller can break as well as a JSON one.</summary>
    private static void Validate(ChatPromptRequest request)
    {
        if (request.Messages.Count == 0)
        {
            throw new ChatRequestException(ChatErrorKind.InvalidRequest, "messages", "messages is empty; a chat request needs at least one message.");
        }

        for (var i = 0; i < request.Messages.Count; i++)
        {
            var m = request.Messages[i];
            if (!ChatRoles.IsKnown(m.Role))
            {
                throw new ChatRequestException(ChatErrorKind.InvalidRequest, $"messages[{i}].role", $"messages[{i}].role is not a known role; use one of {string.Join(", ", ChatRoles.All)}.");
            }

            for (var j = 0; j < (m.ContentParts?.Count ?? 0); j++)
            {
                if (m.ContentParts![j].Type != "text" || m.ContentParts[j].Text is null)
                {
                    throw new ChatRequestException(ChatErrorKind.Unsupported, $"messages[{i}].content[{j}].type", $"messages[{i}].content[{j}] is not a text part: only text parts are supported.");
                }
            }
        }

        if (request.ContinueFinalMessage)
        {
            if (request.AddGenerationPrompt == true)
            {
                throw new ChatRequestException(ChatErrorKind.InvalidRequest, "continue_final_message", "continue_final_message and add_generation_prompt: true cannot be combined: continue the last assistant message, or start a new one, not both (leave add_generation_prompt out).");
            }

            if (request.Messages[^1].Role != ChatRoles.Assistant)
            {
                throw new ChatRequestException(ChatErrorKind.InvalidRequest, "continue_final_message", $"continue_final_message needs the last message to be the assistant's (the text to continue); messages[{request.Messages.Count - 1}].role is not assistant.");
            }
        }

        foreach (var key in request.ChatTemplateKwargs?.Select(p => p.Key) ?? [])
        {
            if (ChatRequestJson.ReservedKwargs.Contains(key))
            {
                throw new ChatRequestException(ChatErrorKind.InvalidRequest, "chat_template_kwargs." + key, $"chat_template_kwargs.{key} is not allowed: use the request's own {key} field.");
            }
        }
    }

    /// <summary>A message as the template sees it: role, content (text parts joined), and name, tool_calls, tool_call_id when given.</summary>
    private static Dictionary<string, object?> MessageValue(ChatMessage m, int index)
    {
        var value = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["role"] = m.Role,
            ["content"] = m.Text ?? string.Empty,
        };
        if (m.Name is not null)
        {
            value["name"] = m.Name;
        }

        if (m.ToolCalls is { } calls)
        {
            value["tool_calls"] = calls.Select((c, j) => (object?)ToolCallValue(c, $"messages[{index}].tool_calls[{j}]")).ToList();
        }

        if (m.ToolCallId is not null)
        {
            value["tool_call_id"] = m.ToolCallId;
        }

        return value;
    }

    /// <summary>
    /// OpenAI's shape with the arguments parsed from their JSON text, as vLLM hands them to templates
    /// (Hugging Face's tool templates expect a mapping and write it with tojson).
    /// </summary>
    private static Dictionary<string, object?> ToolCallValue(ChatToolCall call, string at)
    {
        object? arguments;
        if (string.IsNullOrWhiteSpace(call.Arguments))
        {
            arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        }
        else
        {
            try
            {
                using var doc = JsonDocument.Parse(call.Arguments);
                arguments = TemplateValues.From(doc.RootElement);
            }
            catch (JsonException)
            {
                throw new ChatRequestException(ChatErrorKind.InvalidRequest, at + ".function.arguments", $"{at}.function.arguments is not valid JSON; tool call arguments are the JSON text of an object.");
            }
        }

        var value = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (call.Id is not null)
        {
            value["id"] = call.Id;
        }

        value["type"] = "function";
        value["function"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["name"] = call.Name, ["arguments"] = arguments };
        return value;
    }
}
