using System.Globalization;
using System.Text.Json;

namespace Folio.Contracts;

/// <summary>The version 2 fields: chat (section 6.1) and structured output (section 6.2).</summary>
public static partial class RequestParser
{
    private static readonly HashSet<string> ChatRoles = new(StringComparer.Ordinal) { "system", "user", "assistant", "tool" };

    private sealed partial class FieldReader
    {
        /// <summary>
        /// messages and the fields that go with it. The chat-only fields (tools, add_generation_prompt,
        /// continue_final_message, chat_template_kwargs) are read only with messages; without it they
        /// mean nothing and are ignored like unknown fields.
        /// </summary>
        private ChatRequest? ReadChat()
        {
            if (!TryGet("messages", out var messages))
            {
                return null;
            }

            if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            {
                Error($"messages must be a non-empty array of {{role, content}} objects; got {(messages.ValueKind == JsonValueKind.Array ? "an empty array" : Describe(messages))}");
                return null;
            }

            int i = 0;
            string? lastRole = null;
            foreach (var m in messages.EnumerateArray())
            {
                lastRole = ReadMessage(m, i++);
                if (_error is not null)
                {
                    return null;
                }
            }

            string? tools = ReadTools();
            bool? addGenerationPrompt = OptionalBool("add_generation_prompt");
            bool continueFinal = Bool("continue_final_message");
            string? kwargs = null;
            if (TryGet("chat_template_kwargs", out var k))
            {
                if (k.ValueKind != JsonValueKind.Object)
                {
                    Error($"chat_template_kwargs must be an object of template variables; got {Describe(k)}");
                }
                else
                {
                    kwargs = k.GetRawText();
                }
            }

            if (_error is null && continueFinal)
            {
                if (lastRole != "assistant")
                {
                    Error($"continue_final_message needs the last message to be an assistant message (its text is continued); the last message's role is {lastRole}");
                }
                else if (addGenerationPrompt == true)
                {
                    Error("continue_final_message cannot be combined with add_generation_prompt: true (the first continues the last assistant message, the second opens a new one); leave add_generation_prompt out");
                }
            }

            return _error is null ? new ChatRequest(messages.GetRawText(), tools, addGenerationPrompt ?? !continueFinal, continueFinal, kwargs) : null;
        }

        /// <summary>One message; returns its role.</summary>
        private string? ReadMessage(JsonElement m, int i)
        {
            string at = $"messages[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (m.ValueKind != JsonValueKind.Object)
            {
                Error($"{at} must be an object with role and content; got {Describe(m)}");
                return null;
            }

            if (!m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String || !TryGetString(role, out string? r) || !ChatRoles.Contains(r!))
            {
                Error($"{at}.role must be one of system, user, assistant, tool");
                return null;
            }

            bool hasToolCalls = m.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind != JsonValueKind.Null;
            if (!m.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            {
                // An assistant turn that only calls tools has no content (OpenAI's shape).
                if (!(r == "assistant" && hasToolCalls))
                {
                    Error($"{at}.content is required (a string, or an array of {{\"type\": \"text\", \"text\": ...}} parts)");
                    return null;
                }
            }
            else if (content.ValueKind == JsonValueKind.String)
            {
                if (!TryGetString(content, out _, out string problem))
                {
                    Error($"{at}.content {problem}");
                    return null;
                }
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                int j = 0;
                foreach (var part in content.EnumerateArray())
                {
                    if (!ReadContentPart(part, $"{at}.content[{j++.ToString(CultureInfo.InvariantCulture)}]"))
                    {
                        return null;
                    }
                }
            }
            else
            {
                Error($"{at}.content must be a string or an array of text parts; got {Describe(content)}");
                return null;
            }

            foreach (string name in (string[])["name", "tool_call_id"])
            {
                if (m.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null && (v.ValueKind != JsonValueKind.String || !TryGetString(v, out _)))
                {
                    Error($"{at}.{name} must be a string; got {Describe(v)}");
                    return null;
                }
            }

            if (hasToolCalls && !ReadToolCalls(toolCalls, at + ".tool_calls"))
            {
                return null;
            }

            return r;
        }

        private bool ReadContentPart(JsonElement part, string at)
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                Error($"{at} must be an object with a type (\"text\")");
                return false;
            }

            if (!type.ValueEquals("text"))
            {
                // A valid OpenAI part (image_url, input_audio, ...) that a text model cannot take.
                Error($"{at}.type: only \"text\" parts are supported; this worker serves a text-only model", ErrorCodes.Unsupported);
                return false;
            }

            if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                Error($"{at}.text must be a string");
                return false;
            }

            if (!TryGetString(text, out _, out string problem))
            {
                Error($"{at}.text {problem}");
                return false;
            }

            return true;
        }

        /// <summary>OpenAI's shape: [{"id", "type": "function", "function": {"name", "arguments"}}].</summary>
        private bool ReadToolCalls(JsonElement calls, string at)
        {
            if (calls.ValueKind != JsonValueKind.Array)
            {
                Error($"{at} must be an array of tool calls; got {Describe(calls)}");
                return false;
            }

            int i = 0;
            foreach (var call in calls.EnumerateArray())
            {
                string here = $"{at}[{i++.ToString(CultureInfo.InvariantCulture)}]";
                if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object
                    || !f.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    Error($"{here} must be {{\"type\": \"function\", \"function\": {{\"name\": ..., \"arguments\": ...}}}}");
                    return false;
                }
            }

            return true;
        }

        /// <summary>OpenAI function tools: [{"type": "function", "function": {"name", "description", "parameters"}}].</summary>
        private string? ReadTools()
        {
            if (!TryGet("tools", out var tools))
            {
                return null;
            }

            if (tools.ValueKind != JsonValueKind.Array)
            {
                Error($"tools must be an array of function tools; got {Describe(tools)}");
                return null;
            }

            int i = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                string at = $"tools[{i++.ToString(CultureInfo.InvariantCulture)}]";
                if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || !type.ValueEquals("function"))
                {
                    Error($"{at} must be {{\"type\": \"function\", \"function\": {{name, description, parameters}}}}");
                    return null;
                }

                if (!tool.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object || !f.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    Error($"{at}.function must be an object with a string name");
                    return null;
                }

                if (f.TryGetProperty("parameters", out var parameters) && parameters.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                {
                    Error($"{at}.function.parameters must be a JSON Schema object; got {Describe(parameters)}");
                    return null;
                }
            }

            return tools.GetRawText();
        }

        /// <summary>response_format (OpenAI's shape) or structured_outputs (vLLM's), never both with a constraint.</summary>
        private OutputConstraint? ReadConstraint()
        {
            var fromFormat = ReadResponseFormat();
            var fromStructured = ReadStructuredOutputs();
            if (_error is not null)
            {
                return null;
            }

            if (fromFormat is not null && fromStructured is not null)
            {
                Error("give either response_format (json_object or json_schema) or structured_outputs, not both");
                return null;
            }

            return fromFormat ?? fromStructured;
        }

        private OutputConstraint? ReadResponseFormat()
        {
            if (!TryGet("response_format", out var rf))
            {
                return null;
            }

            if (rf.ValueKind != JsonValueKind.Object || !rf.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                Error("response_format must be an object with a type: text, json_object or json_schema");
                return null;
            }

            if (type.ValueEquals("text"))
            {
                return null;
            }

            if (type.ValueEquals("json_object"))
            {
                return new OutputConstraint(OutputConstraintKind.JsonObject, null, null, true, "response_format");
            }

            if (!type.ValueEquals("json_schema"))
            {
                Error("response_format.type must be text, json_object or json_schema");
                return null;
            }

            if (!rf.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
            {
                Error("response_format.json_schema must be an object {name, schema, strict}");
                return null;
            }

            if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
            {
                Error($"response_format.json_schema.schema must be a JSON Schema object; got {(js.TryGetProperty("schema", out var s) ? Describe(s) : "nothing")}");
                return null;
            }

            if (js.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            {
                Error($"response_format.json_schema.strict must be true or false; got {Describe(strict)}");
                return null;
            }

            // strict or not, an unsupported keyword is refused: nothing is silently ignored.
            return new OutputConstraint(OutputConstraintKind.JsonSchema, schema.GetRawText(), null, true, "response_format.json_schema.schema");
        }

        private OutputConstraint? ReadStructuredOutputs()
        {
            if (!TryGet("structured_outputs", out var so))
            {
                return null;
            }

            if (so.ValueKind != JsonValueKind.Object)
            {
                Error($"structured_outputs must be an object with exactly one of json, regex, choice, grammar; got {Describe(so)}");
                return null;
            }

            string[] kinds = ["json", "regex", "choice", "grammar"];
            var given = kinds.Where(k => so.TryGetProperty(k, out var v) && v.ValueKind != JsonValueKind.Null).ToList();
            if (given.Count != 1)
            {
                Error($"structured_outputs must hold exactly one of json, regex, choice, grammar; got {(given.Count == 0 ? "none" : string.Join(", ", given))}");
                return null;
            }

            var value = so.GetProperty(given[0]);
            string field = "structured_outputs." + given[0];
            switch (given[0])
            {
                case "json":
                    if (value.ValueKind == JsonValueKind.Object)
                    {
                        return new OutputConstraint(OutputConstraintKind.JsonSchema, value.GetRawText(), null, true, field);
                    }

                    if (value.ValueKind == JsonValueKind.String && TryGetString(value, out string? schemaText))
                    {
                        return new OutputConstraint(OutputConstraintKind.JsonSchema, schemaText, null, true, field);
                    }

                    Error($"{field} must be a JSON Schema object (or its JSON text); got {Describe(value)}");
                    return null;

                case "choice":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                    {
                        Error($"{field} must be a non-empty array of strings");
                        return null;
                    }

                    var choices = new List<string>();
                    foreach (var c in value.EnumerateArray())
                    {
                        if (c.ValueKind != JsonValueKind.String || !TryGetString(c, out string? choice) || choice!.Length == 0)
                        {
                            Error($"{field}[{choices.Count.ToString(CultureInfo.InvariantCulture)}] must be a non-empty string");
                            return null;
                        }

                        choices.Add(choice);
                    }

                    return new OutputConstraint(OutputConstraintKind.Choice, null, choices, true, field);

                default:
                    if (value.ValueKind != JsonValueKind.String || !TryGetString(value, out string? text) || text!.Length == 0)
                    {
                        Error($"{field} must be a non-empty string");
                        return null;
                    }

                    return new OutputConstraint(given[0] == "regex" ? OutputConstraintKind.Regex : OutputConstraintKind.Grammar, text, null, true, field);
            }
        }

        private bool? OptionalBool(string name) => Has(name) ? Bool(name) : null;

        /// <summary>model: a name of 1-256 printable characters (never echoed: it is the publisher's text).</summary>
        private string? ReadModel()
        {
            string? model = String("model");
            if (model is not null && (model.Length is < 1 or > 256 || model.Any(char.IsControl)))
            {
                Error("model must be a model name of 1-256 printable characters");
                return null;
            }

            return model;
        }

        /// <summary>deadline_ms: Unix time in milliseconds, a positive 64-bit whole number.</summary>
        private long? ReadDeadline()
        {
            if (!TryGet("deadline_ms", out var e))
            {
                return null;
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v <= 0)
            {
                Error($"deadline_ms must be a Unix time in milliseconds (a positive whole number); got {Describe(e)}");
                return null;
            }

            return v;
        }

        /// <summary>batch_id and custom_id share request_id's charset (they name Redis keys and request ids derive from them).</summary>
        private string? ReadIdLike(string name)
        {
            string? value = String(name);
            if (value is not null && !RequestIdRules.IsValid(value))
            {
                Error($"{name} must be {RequestIdRules.Description}; got {RequestIdRules.Explain(value)}");
                return null;
            }

            return value;
        }
    }
}
