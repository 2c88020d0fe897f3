using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Folio.Contracts;

namespace Folio.Gateway.OpenAi;

/// <summary>
/// OpenAI's /v1/completions and /v1/chat/completions bodies to contract requests (docs/contract.md):
/// every OpenAI parameter Folio serves is type-checked and mapped, the vLLM extensions the contract
/// knows are passed on, parameters Folio cannot honour are refused naming them, and unknown ones are
/// ignored as OpenAI does. The contract's own parser then checks ranges and combinations, so the
/// gateway refuses exactly what a worker would, before anything is queued.
/// </summary>
public static class RequestTranslator
{
    /// <summary>Numbers passed on under the same name (OpenAI's and the vLLM extensions the contract reads).</summary>
    private static readonly string[] Numbers = ["temperature", "top_p", "presence_penalty", "frequency_penalty", "min_p", "repetition_penalty"];

    private static readonly string[] Integers = ["top_k", "min_tokens", "priority"];

    private static readonly string[] Booleans = ["ignore_eos", "include_stop_str_in_output"];

    private static readonly string[] ChatExtras = ["add_generation_prompt", "continue_final_message", "chat_template_kwargs"];

    public static TranslatedRequest Translate(JsonElement root, CompletionKind kind, string requestId, long? deadlineMs, int defaultChatMaxTokens)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid($"the request body must be a JSON object; got {Describe(root)}", null, "invalid_type");
        }

        var body = new Body(root);
        string model = body.String("model") ?? string.Empty;
        if (model.Length == 0)
        {
            throw OpenAiException.Invalid("you must provide a model parameter (GET /v1/models lists the served models)", "model", "missing_required_parameter");
        }

        bool stream = body.Bool("stream") ?? false;
        bool includeUsage = false;
        if (body.Object("stream_options") is { } streamOptions)
        {
            if (!stream)
            {
                throw OpenAiException.Invalid("stream_options is only allowed when stream is true", "stream_options");
            }

            includeUsage = new Body(streamOptions, "stream_options.").Bool("include_usage") ?? false;
        }

        if (body.Integer("n") is { } n && n != 1)
        {
            throw n < 1
                ? OpenAiException.Invalid($"n must be >= 1; got {n.ToString(CultureInfo.InvariantCulture)}", "n")
                : OpenAiException.Unsupported("n > 1 (several choices per request) is not supported yet: parallel sampling does not exist in Folio; send n = 1, or n separate requests with different seeds", "n");
        }

        if (body.Object("logit_bias") is { } bias && bias.EnumerateObject().Any())
        {
            throw OpenAiException.Unsupported("logit_bias is not supported; leave it out (or use stop_token_ids / structured_outputs to steer tokens)", "logit_bias");
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        bool logprobs;
        int topLogprobs;
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("request_id", requestId);
            w.WriteString("model", model);
            if (deadlineMs is { } deadline)
            {
                w.WriteNumber("deadline_ms", deadline);
            }

            int maxTokens;
            if (kind == CompletionKind.Chat)
            {
                WriteMessages(w, body);
                WriteTools(w, body);
                foreach (string extra in ChatExtras)
                {
                    body.CopyIfPresent(w, extra);
                }

                long? mt = body.Integer("max_completion_tokens") ?? body.Integer("max_tokens");
                maxTokens = ClampToInt(mt, defaultChatMaxTokens, body.Has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens");
                bool wantLogprobs = body.Bool("logprobs") ?? false;
                long? top = body.Integer("top_logprobs");
                if (top is not null && !wantLogprobs)
                {
                    throw OpenAiException.Invalid("top_logprobs needs logprobs: true", "top_logprobs");
                }

                if (top is < 0 or > RequestDefaults.MaxLogprobs)
                {
                    throw OpenAiException.Invalid($"top_logprobs must be between 0 and {RequestDefaults.MaxLogprobs}; got {top.Value.ToString(CultureInfo.InvariantCulture)}", "top_logprobs");
                }

                logprobs = wantLogprobs;
                topLogprobs = (int)(top ?? 0);
            }
            else
            {
                WritePrompt(w, body);
                if (body.Bool("echo") == true)
                {
                    throw OpenAiException.Unsupported("echo is not supported: the reply holds only the completion; leave echo out or false", "echo");
                }

                if (body.Has("suffix"))
                {
                    throw OpenAiException.Unsupported("suffix (insertion) is not supported; leave it out", "suffix");
                }

                if (body.Integer("best_of") is > 1)
                {
                    throw OpenAiException.Unsupported("best_of > 1 is not supported yet (no parallel sampling); leave it out or send 1", "best_of");
                }

                maxTokens = ClampToInt(body.Integer("max_tokens"), RequestDefaults.MaxTokens, "max_tokens");
                long? lp = body.Integer("logprobs");
                if (lp is < 0 or > RequestDefaults.MaxLogprobs)
                {
                    throw OpenAiException.Invalid($"logprobs must be between 0 and {RequestDefaults.MaxLogprobs}; got {lp.Value.ToString(CultureInfo.InvariantCulture)}", "logprobs");
                }

                logprobs = lp is not null;
                topLogprobs = (int)(lp ?? 0);
            }

            w.WriteNumber("max_tokens", maxTokens);
            if (logprobs)
            {
                w.WriteNumber("logprobs", topLogprobs);
            }

            foreach (string name in Numbers)
            {
                if (body.Number(name) is { } v)
                {
                    w.WriteNumber(name, v);
                }
            }

            foreach (string name in Integers)
            {
                if (body.Integer(name) is { } v)
                {
                    w.WriteNumber(name, v);
                }
            }

            foreach (string name in Booleans)
            {
                if (body.Bool(name) is { } v)
                {
                    w.WriteBoolean(name, v);
                }
            }

            if (body.Integer("seed") is { } seed)
            {
                w.WriteNumber("seed", seed);
            }

            WriteStop(w, body);
            body.CopyIfPresent(w, "stop_token_ids", JsonValueKind.Array);
            body.CopyIfPresent(w, "response_format", JsonValueKind.Object);
            body.CopyIfPresent(w, "structured_outputs", JsonValueKind.Object);
            w.WriteEndObject();
        }

        byte[] json = buffer.WrittenSpan.ToArray();
        CheckWithContract(json, kind);
        return new TranslatedRequest
        {
            Kind = kind,
            RequestId = requestId,
            ContractJson = json,
            Model = model,
            Stream = stream,
            IncludeUsage = includeUsage,
            Logprobs = logprobs,
            TopLogprobs = topLogprobs,
        };
    }

    private static int ClampToInt(long? value, int fallback, string param) => value switch
    {
        null => fallback,
        < 1 => throw OpenAiException.Invalid($"{param} must be >= 1; got {value.Value.ToString(CultureInfo.InvariantCulture)}", param),
        > int.MaxValue => throw OpenAiException.Invalid($"{param} is too large", param),
        _ => (int)value.Value,
    };

    /// <summary>The contract's parser over the translated request: ranges, combinations, message shapes; its message names the contract field.</summary>
    private static void CheckWithContract(byte[] json, CompletionKind kind)
    {
        var parsed = RequestParser.Parse(json, int.MaxValue);
        if (parsed.Error is { } e)
        {
            string param = LeadingField(e.Message);
            // The two fields whose OpenAI names differ from the contract's.
            param = (param, kind) switch
            {
                ("logprobs", CompletionKind.Chat) => "top_logprobs",
                ("prompt_token_ids", _) => "prompt",
                _ => param,
            };
            throw e.Code == ErrorCodes.Unsupported
                ? OpenAiException.Unsupported(e.Message, param.Length == 0 ? null : param)
                : OpenAiException.Invalid(e.Message, param.Length == 0 ? null : param);
        }
    }

    /// <summary>The field a contract message starts with ("top_p must be ..." -> top_p; "messages[2].role ..." -> messages[2].role).</summary>
    private static string LeadingField(string message)
    {
        int end = 0;
        while (end < message.Length && (char.IsAsciiLetterOrDigit(message[end]) || message[end] is '_' or '.' or '[' or ']'))
        {
            end++;
        }

        string field = message[..end];
        return field.Contains('_', StringComparison.Ordinal) || field.Contains('[', StringComparison.Ordinal) || field is "prompt" or "messages" or "stop" or "seed" or "temperature" or "tools" or "model"
            ? field
            : string.Empty;
    }

    /// <summary>messages, with OpenAI's "developer" role (the newer name of "system") mapped to system.</summary>
    private static void WriteMessages(Utf8JsonWriter w, Body body)
    {
        if (!body.Root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Invalid("messages is required: an array of {role, content} objects", "messages", "missing_required_parameter");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.Invalid($"messages must be an array of {{role, content}} objects; got {Describe(messages)}", "messages", "invalid_type");
        }

        w.WritePropertyName("messages");
        w.WriteStartArray();
        foreach (var m in messages.EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.Object && m.TryGetProperty("role", out var role) && role.ValueKind == JsonValueKind.String && role.ValueEquals("developer"))
            {
                w.WriteStartObject();
                foreach (var p in m.EnumerateObject())
                {
                    if (p.NameEquals("role"))
                    {
                        w.WriteString("role", "system");
                    }
                    else
                    {
                        p.WriteTo(w);
                    }
                }

                w.WriteEndObject();
            }
            else
            {
                m.WriteTo(w);
            }
        }

        w.WriteEndArray();
    }

    /// <summary>tools go to the chat template; tool_choice "auto" (or none given) keeps them, "none" leaves them out, anything else needs tool-call parsing Folio lacks.</summary>
    private static void WriteTools(Utf8JsonWriter w, Body body)
    {
        bool passTools = true;
        if (body.Root.TryGetProperty("tool_choice", out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            if (choice.ValueKind == JsonValueKind.String && choice.ValueEquals("none"))
            {
                passTools = false;
            }
            else if (!(choice.ValueKind == JsonValueKind.String && choice.ValueEquals("auto")))
            {
                throw OpenAiException.Unsupported("tool_choice may be \"auto\" or \"none\": forcing a tool call (\"required\" or a named function) needs tool-call parsing, which Folio does not do yet", "tool_choice");
            }
        }

        if (passTools)
        {
            body.CopyIfPresent(w, "tools", JsonValueKind.Array);
        }
    }

    /// <summary>prompt: a string, one string in an array, or token ids (one array of them); several prompts are refused.</summary>
    private static void WritePrompt(Utf8JsonWriter w, Body body)
    {
        if (!body.Root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Invalid("prompt is required: a string, or an array of token ids", "prompt", "missing_required_parameter");
        }

        const string Several = "several prompts in one request are not supported (each would be its own choice); send one prompt per request";
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                w.WritePropertyName("prompt");
                prompt.WriteTo(w);
                return;
            case JsonValueKind.Array:
                int count = prompt.GetArrayLength();
                if (count == 0)
                {
                    throw OpenAiException.Invalid("prompt must not be an empty array", "prompt");
                }

                var first = prompt[0];
                if (first.ValueKind == JsonValueKind.String)
                {
                    if (count > 1)
                    {
                        throw OpenAiException.Unsupported(Several, "prompt");
                    }

                    w.WritePropertyName("prompt");
                    first.WriteTo(w);
                    return;
                }

                if (first.ValueKind == JsonValueKind.Array)
                {
                    if (count > 1)
                    {
                        throw OpenAiException.Unsupported(Several, "prompt");
                    }

                    WriteTokenIds(w, first);
                    return;
                }

                WriteTokenIds(w, prompt);
                return;
            default:
                throw OpenAiException.Invalid($"prompt must be a string or an array of token ids; got {Describe(prompt)}", "prompt", "invalid_type");
        }
    }

    private static void WriteTokenIds(Utf8JsonWriter w, JsonElement ids)
    {
        w.WritePropertyName("prompt_token_ids");
        w.WriteStartArray();
        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int v))
            {
                throw OpenAiException.Invalid($"a token-id prompt must hold integers only; found {Describe(id)}", "prompt", "invalid_type");
            }

            w.WriteNumberValue(v);
        }

        w.WriteEndArray();
    }

    /// <summary>stop: a string or an array of strings (null or absent: none).</summary>
    private static void WriteStop(Utf8JsonWriter w, Body body)
    {
        if (!body.Root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
        {
            throw OpenAiException.Invalid("stop must be a string or an array of strings; the array holds something else", "stop", "invalid_type");
        }

        if (stop.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            throw OpenAiException.Invalid($"stop must be a string or an array of strings; got {Describe(stop)}", "stop", "invalid_type");
        }

        w.WritePropertyName("stop");
        stop.WriteTo(w);
    }

    internal static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    /// <summary>Typed reads of optional fields: null or absent is "not given"; a wrong type is a 400 naming the field.</summary>
    private readonly struct Body(JsonElement root, string path = "")
    {
        public JsonElement Root => root;

        public bool Has(string name) => root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null;

        private bool TryGet(string name, out JsonElement e) => root.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null;

        private OpenAiException WrongType(string name, string wanted, JsonElement got) =>
            OpenAiException.Invalid($"{path}{name} must be {wanted}; got {Describe(got)}", path + name, "invalid_type");

        public string? String(string name)
        {
            if (!TryGet(name, out var e))
            {
                return null;
            }

            return e.ValueKind == JsonValueKind.String ? e.GetString() : throw WrongType(name, "a string", e);
        }

        public bool? Bool(string name)
        {
            if (!TryGet(name, out var e))
            {
                return null;
            }

            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw WrongType(name, "a boolean", e),
            };
        }

        public double? Number(string name)
        {
            if (!TryGet(name, out var e))
            {
                return null;
            }

            return e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double v) && double.IsFinite(v) ? v : throw WrongType(name, "a number", e);
        }

        public long? Integer(string name)
        {
            if (!TryGet(name, out var e))
            {
                return null;
            }

            if (e.ValueKind != JsonValueKind.Number)
            {
                throw WrongType(name, "an integer", e);
            }

            if (e.TryGetInt64(out long v))
            {
                return v;
            }

            // 5.0 is an integer to JSON's number model; 5.5 and 1e30 are not.
            return e.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e15 ? (long)d : throw WrongType(name, "an integer", e);
        }

        public JsonElement? Object(string name)
        {
            if (!TryGet(name, out var e))
            {
                return null;
            }

            return e.ValueKind == JsonValueKind.Object ? e : throw WrongType(name, "an object", e);
        }

        /// <summary>Passes a field on as it was written (the contract parser checks it); a kind, when given, is checked here so the error names the OpenAI shape.</summary>
        public void CopyIfPresent(Utf8JsonWriter w, string name, JsonValueKind? kind = null)
        {
            if (!TryGet(name, out var e))
            {
                return;
            }

            if (kind is { } k && e.ValueKind != k)
            {
                throw WrongType(name, k == JsonValueKind.Array ? "an array" : "an object", e);
            }

            w.WritePropertyName(name);
            e.WriteTo(w);
        }
    }
}
