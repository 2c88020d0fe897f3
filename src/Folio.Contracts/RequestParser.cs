using System.Globalization;
using System.Text.Json;

namespace Folio.Contracts;

/// <summary>
/// Parses a request message (UTF-8 JSON) into a <see cref="GenerationRequest"/> with every default
/// applied, or a <see cref="RequestError"/> naming the field and the rule. Unknown fields are
/// ignored; a JSON null counts as an absent field. The request_id is read first so that every later
/// error can be reported on the request's own stream.
/// </summary>
public static partial class RequestParser
{
    /// <summary>Messages larger than this are rejected without building a document (see <see cref="Parse(ReadOnlyMemory{byte}, int)"/>).</summary>
    public const int DefaultMaxMessageBytes = 1 << 20;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    public static RequestParseResult Parse(ReadOnlyMemory<byte> utf8Json) => Parse(utf8Json, DefaultMaxMessageBytes);

    /// <param name="utf8Json">The message body.</param>
    /// <param name="maxMessageBytes">The size cap (Folio:Limits:MaxMessageBytes); a larger body is an invalid_request.</param>
    public static RequestParseResult Parse(ReadOnlyMemory<byte> utf8Json, int maxMessageBytes)
    {
        if (utf8Json.Length > maxMessageBytes)
        {
            // Too big to parse whole, but the request_id (if near the top) still lets the user see why.
            string? id = RequestIdScanner.TryFind(utf8Json.Span);
            return Fail(ErrorCodes.InvalidRequest, $"the message is {utf8Json.Length} bytes; the limit is {maxMessageBytes} bytes (Folio:Limits:MaxMessageBytes)", id);
        }

        // A UTF-8 byte order mark is not JSON, but editors write it: accept it (docs/contract.md).
        if (utf8Json.Span.StartsWith(Utf8Bom))
        {
            utf8Json = utf8Json[Utf8Bom.Length..];
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json, DocumentOptions);
        }
        catch (JsonException e)
        {
            // The exception's own message quotes the input after the error: never pass it on.
            string where = e.LineNumber is { } line && e.BytePositionInLine is { } col ? $" at line {line + 1}, byte {col + 1} of that line" : string.Empty;
            if (IsDepthError(e))
            {
                // Valid JSON that nests too deep: the request_id is usually readable, so answer on the stream.
                return Fail(ErrorCodes.InvalidRequest, $"the message nests objects and arrays deeper than {DocumentOptions.MaxDepth} levels{where}; flatten it", RequestIdScanner.TryFind(utf8Json.Span));
            }

            return Fail(ErrorCodes.InvalidRequest, $"the message is not valid UTF-8 JSON{where}: check the syntax there", null);
        }

        using (doc)
        {
            try
            {
                return ParseRoot(doc.RootElement);
            }
            catch (InvalidOperationException)
            {
                // A string the document cannot decode (invalid UTF-8 bytes): the field readers catch
                // their own, this is the backstop; the scanner decides whether the id is usable.
                return Fail(ErrorCodes.InvalidRequest, "the message holds a string that is not valid UTF-8 or UTF-16", RequestIdScanner.TryFind(utf8Json.Span));
            }
        }
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private static bool IsDepthError(JsonException e) => e.Message.Contains("maximum configured depth", StringComparison.Ordinal);

    private static RequestParseResult ParseRoot(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Fail(ErrorCodes.InvalidRequest, $"the message must be a JSON object; got {Describe(root)}", null);
        }

        // Duplicate keys are ambiguous (parsers disagree on which wins): refuse them for the fields
        // Folio reads. Unknown fields are ignored, duplicated or not, and their names never echoed.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? duplicate = null;
        foreach (var p in root.EnumerateObject())
        {
            if (KnownFields.Contains(p.Name) && !seen.Add(p.Name))
            {
                duplicate ??= p.Name;
            }
        }

        if (!root.TryGetProperty("request_id", out var idElement) || idElement.ValueKind == JsonValueKind.Null)
        {
            return Fail(ErrorCodes.InvalidRequest, "request_id is required", null);
        }

        if (idElement.ValueKind != JsonValueKind.String)
        {
            return Fail(ErrorCodes.InvalidRequest, $"request_id must be a string; got {Describe(idElement)}", null);
        }

        if (!TryGetString(idElement, out string? requestId, out string idProblem))
        {
            return Fail(ErrorCodes.InvalidRequest, $"request_id {idProblem}; it must be {RequestIdRules.Description}", null);
        }

        if (!RequestIdRules.IsValid(requestId))
        {
            return Fail(ErrorCodes.InvalidRequest, $"request_id must be {RequestIdRules.Description}; got {RequestIdRules.Explain(requestId)}", null);
        }

        var reader = new FieldReader(root, requestId!);
        if (duplicate is not null)
        {
            return reader.Fail($"field {duplicate} appears more than once");
        }

        return reader.Read();
    }

    private static RequestParseResult Fail(string code, string message, string? requestId) =>
        RequestParseResult.Fail(new RequestError(code, message, requestId));

    /// <summary>The fields Folio reads (version 1 and 2): duplicates of these are refused, names of others never echoed.</summary>
    private static readonly HashSet<string> KnownFields = new(StringComparer.Ordinal)
    {
        "request_id", "prompt", "prompt_token_ids", "messages", "max_tokens", "min_tokens", "temperature", "top_p", "top_k",
        "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty", "seed", "stop", "stop_token_ids",
        "ignore_eos", "include_stop_str_in_output", "logprobs", "priority", "tools", "add_generation_prompt",
        "continue_final_message", "chat_template_kwargs", "response_format", "structured_outputs", "model",
        "deadline_ms", "batch_id", "custom_id",
    };

    /// <summary>What a value is, for an error message: its kind, and a number's value when it is short. Never a string's content.</summary>
    internal static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => e.GetRawText() is { Length: <= 24 } n ? $"the number {n}" : "a number too long to show",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    /// <summary>
    /// Reads a JSON string. False for an escaped lone surrogate (<c>"\ud800"</c>): valid JSON, but
    /// not text any tokenizer, Redis reader or log can carry; the caller answers it.
    /// </summary>
    internal static bool TryGetString(JsonElement e, out string? value) => TryGetString(e, out value, out _);

    /// <param name="problem">When false: what is wrong with the string, in words (never its content).</param>
    internal static bool TryGetString(JsonElement e, out string? value, out string problem)
    {
        problem = string.Empty;
        try
        {
            value = e.GetString();
            if (value is not null && HasLoneSurrogate(value))
            {
                problem = "holds an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF without its pair); send valid Unicode text";
                return false;
            }

            return true;
        }
        catch (InvalidOperationException ex)
        {
            value = null;
            problem = ex.InnerException is System.Text.DecoderFallbackException
                ? "is not valid UTF-8"
                : "holds an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF without its pair); send valid Unicode text";
            return false;
        }
    }

    private static bool HasLoneSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                {
                    return true;
                }

                i++;
            }
            else if (char.IsLowSurrogate(s[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static readonly FieldRule<int> AnyPriority = new("priority", _ => true, string.Empty);

    /// <summary>Reads the fields after request_id; the first rule broken becomes the error.</summary>
    private sealed partial class FieldReader(JsonElement root, string requestId)
    {
        private string? _error;
        private string _errorCode = ErrorCodes.InvalidRequest;

        public RequestParseResult Fail(string message) => RequestParseResult.Fail(new RequestError(_errorCode, message, requestId));

        /// <summary>Records the first rule broken (later ones are not reported); unsupported for a valid field Folio does not serve.</summary>
        private void Error(string message, string code = ErrorCodes.InvalidRequest)
        {
            if (_error is null)
            {
                _error = message;
                _errorCode = code;
            }
        }

        public RequestParseResult Read()
        {
            string? prompt = String("prompt");
            int[]? promptIds = IntArray("prompt_token_ids");
            var chat = ReadChat();
            if (_error is null)
            {
                int given = (prompt is not null ? 1 : 0) + (promptIds is not null ? 1 : 0) + (chat is not null ? 1 : 0);
                if (given != 1)
                {
                    _error = $"give exactly one of prompt, prompt_token_ids and messages; got {(given == 0 ? "none" : given.ToString(CultureInfo.InvariantCulture))}";
                }
                else if (prompt is { Length: 0 })
                {
                    _error = "prompt must not be empty";
                }
                else if (promptIds is { Length: 0 })
                {
                    _error = "prompt_token_ids must not be empty";
                }
                else if (promptIds is not null && promptIds.Any(t => t < 0))
                {
                    _error = $"prompt_token_ids must be token ids >= 0; got {promptIds.First(t => t < 0)}";
                }
            }

            var constraint = ReadConstraint();
            string? model = ReadModel();
            long? deadline = ReadDeadline();
            string? batchId = ReadIdLike("batch_id");
            string? customId = ReadIdLike("custom_id");
            int maxTokens = Int(RequestRules.MaxTokens, RequestDefaults.MaxTokens);
            int minTokens = Int(RequestRules.MinTokens, RequestDefaults.MinTokens);
            if (_error is null && minTokens > maxTokens)
            {
                _error = $"min_tokens must be <= max_tokens; got min_tokens {minTokens} and max_tokens {maxTokens}";
            }

            double temperature = Number(RequestRules.Temperature, RequestDefaults.Temperature);
            double topP = Number(RequestRules.TopP, RequestDefaults.TopP);
            int topK = Int(RequestRules.TopK, RequestDefaults.TopK);
            double minP = Number(RequestRules.MinP, RequestDefaults.MinP);
            double repetition = Number(RequestRules.RepetitionPenalty, RequestDefaults.RepetitionPenalty);
            double presence = Number(RequestRules.PresencePenalty, RequestDefaults.PresencePenalty);
            double frequency = Number(RequestRules.FrequencyPenalty, RequestDefaults.FrequencyPenalty);
            long? seed = Seed();
            string[] stop = Stop();
            int[] stopTokenIds = IntArray("stop_token_ids") ?? [];
            if (_error is null && stopTokenIds.Any(t => t < 0))
            {
                _error = $"stop_token_ids must be token ids >= 0; got {stopTokenIds.First(t => t < 0)}";
            }

            bool ignoreEos = Bool("ignore_eos");
            bool includeStop = Bool("include_stop_str_in_output");
            int? logprobs = Has("logprobs") ? Int(RequestRules.Logprobs, 0) : null;
            int priority = Int(AnyPriority, RequestDefaults.Priority);

            if (_error is not null)
            {
                return Fail(_error);
            }

            return RequestParseResult.Ok(new GenerationRequest
            {
                RequestId = requestId,
                Prompt = prompt,
                PromptTokenIds = promptIds,
                MaxTokens = maxTokens,
                MinTokens = minTokens,
                Temperature = temperature,
                TopP = topP,
                TopK = topK,
                MinP = minP,
                RepetitionPenalty = repetition,
                PresencePenalty = presence,
                FrequencyPenalty = frequency,
                Seed = seed,
                Stop = stop,
                StopTokenIds = stopTokenIds,
                IgnoreEos = ignoreEos,
                IncludeStopStrInOutput = includeStop,
                Logprobs = logprobs,
                Priority = priority,
                Chat = chat,
                Constraint = constraint,
                Model = model,
                DeadlineMs = deadline,
                BatchId = batchId,
                CustomId = customId,
            });
        }

        private bool Has(string name) => root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null;

        private bool TryGet(string name, out JsonElement e) =>
            root.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null && _error is null;

        private string? String(string name)
        {
            if (!TryGet(name, out var e))
            {
                return null;
            }

            if (e.ValueKind != JsonValueKind.String)
            {
                _error = $"{name} must be a string; got {Describe(e)}";
                return null;
            }

            if (!TryGetString(e, out string? value, out string problem))
            {
                _error = $"{name} {problem}";
                return null;
            }

            return value;
        }

        private bool Bool(string name)
        {
            if (!TryGet(name, out var e))
            {
                return false;
            }

            if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return e.GetBoolean();
            }

            _error = $"{name} must be true or false; got {Describe(e)}";
            return false;
        }

        private int Int(FieldRule<int> rule, int defaultValue)
        {
            string name = rule.Field;
            if (!TryGet(name, out var e))
            {
                return defaultValue;
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int v))
            {
                _error = $"{name} must be a whole number (32-bit); got {Describe(e)}";
                return defaultValue;
            }

            _error ??= rule.Violation(v);
            return v;
        }

        private double Number(FieldRule<double> rule, double defaultValue)
        {
            string name = rule.Field;
            if (!TryGet(name, out var e))
            {
                return defaultValue;
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v))
            {
                _error = $"{name} must be a finite number; got {Describe(e)}";
                return defaultValue;
            }

            _error ??= rule.Violation(v);
            return v;
        }

        private long? Seed()
        {
            if (!TryGet("seed", out var e))
            {
                return null;
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v))
            {
                _error = $"seed must be a whole number that fits in 64 bits; got {Describe(e)}";
                return null;
            }

            return v;
        }

        private int[]? IntArray(string name)
        {
            if (!TryGet(name, out var e))
            {
                return null;
            }

            if (e.ValueKind != JsonValueKind.Array)
            {
                _error = $"{name} must be an array of whole numbers; got {Describe(e)}";
                return null;
            }

            var result = new int[e.GetArrayLength()];
            int i = 0;
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int v))
                {
                    _error = $"{name}[{i}] must be a whole number (32-bit); got {Describe(item)}";
                    return null;
                }

                result[i++] = v;
            }

            return result;
        }

        private string[] Stop()
        {
            if (!TryGet("stop", out var e))
            {
                return [];
            }

            string[] stops;
            if (e.ValueKind == JsonValueKind.String)
            {
                if (!TryGetString(e, out string? single, out string problem))
                {
                    _error = $"stop {problem}";
                    return [];
                }

                stops = [single!];
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                stops = new string[e.GetArrayLength()];
                int i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        _error = $"stop[{i}] must be a string; got {Describe(item)}";
                        return [];
                    }

                    if (!TryGetString(item, out string? one, out string problem))
                    {
                        _error = $"stop[{i}] {problem}";
                        return [];
                    }

                    stops[i++] = one!;
                }
            }
            else
            {
                _error = $"stop must be a string or an array of strings; got {Describe(e)}";
                return [];
            }

            if (RequestRules.StopCount.Violation(stops.Length) is { } tooMany)
            {
                _error = tooMany;
                return [];
            }

            for (int i = 0; i < stops.Length; i++)
            {
                if (!RequestRules.StopLength.IsValid(stops[i].Length))
                {
                    // The length, never the content: stop strings are user text.
                    _error = $"stop[{i}] is {stops[i].Length} characters long; {RequestRules.StopLength.Field} {RequestRules.StopLength.Requirement}";
                    return [];
                }
            }

            return stops;
        }
    }
}
