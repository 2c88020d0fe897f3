using System.Globalization;
using System.Text.Json;

namespace Folio.Contracts;

/// <summary>
/// Parses a request message (UTF-8 JSON) into a <see cref="GenerationRequest"/> with every default
/// applied, or a <see cref="RequestError"/> naming the field and the rule. Unknown fields are
/// ignored; a JSON null counts as an absent field. The request_id is read first so that every later
/// error can be reported on the request's own stream.
/// </summary>
public static class RequestParser
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

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json, DocumentOptions);
        }
        catch (JsonException e)
        {
            return Fail(ErrorCodes.InvalidRequest, $"the message is not valid UTF-8 JSON: {e.Message}", null);
        }

        using (doc)
        {
            try
            {
                return ParseRoot(doc.RootElement);
            }
            catch (InvalidOperationException e) when (e.InnerException is System.Text.DecoderFallbackException)
            {
                // JsonDocument defers UTF-8 validation of string contents to GetString().
                return Fail(ErrorCodes.InvalidRequest, "the message holds a string that is not valid UTF-8", RequestIdScanner.TryFind(utf8Json.Span));
            }
        }
    }

    private static RequestParseResult ParseRoot(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Fail(ErrorCodes.InvalidRequest, $"the message must be a JSON object; got {Describe(root)}", null);
        }

        // Duplicate keys are ambiguous (parsers disagree on which wins): refuse them.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? duplicate = null;
        foreach (var p in root.EnumerateObject())
        {
            if (!seen.Add(p.Name))
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

        string? requestId = idElement.GetString();
        if (!RequestIdRules.IsValid(requestId))
        {
            return Fail(ErrorCodes.InvalidRequest, $"request_id must be {RequestIdRules.Description}; got {Quote(requestId)}", null);
        }

        var reader = new FieldReader(root, requestId!);
        if (duplicate is not null)
        {
            return reader.Fail($"field {duplicate} appears more than once");
        }

        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind != JsonValueKind.Null)
        {
            return Fail(ErrorCodes.Unsupported, "chat messages are not supported yet; send prompt or prompt_token_ids instead", requestId);
        }

        return reader.Read();
    }

    private static RequestParseResult Fail(string code, string message, string? requestId) =>
        RequestParseResult.Fail(new RequestError(code, message, requestId));

    internal static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    internal static string Quote(string? s)
    {
        if (s is null)
        {
            return "null";
        }

        string shown = s.Length > 40 ? s[..40] + "..." : s;
        return "\"" + shown + "\"" + (s.Length > 40 ? $" ({s.Length} characters)" : string.Empty);
    }

    /// <summary>Reads the fields after request_id; the first rule broken becomes the error.</summary>
    private sealed class FieldReader(JsonElement root, string requestId)
    {
        private string? _error;

        public RequestParseResult Fail(string message) => RequestParseResult.Fail(new RequestError(ErrorCodes.InvalidRequest, message, requestId));

        public RequestParseResult Read()
        {
            string? prompt = String("prompt");
            int[]? promptIds = IntArray("prompt_token_ids");
            if (_error is null)
            {
                if (prompt is not null && promptIds is not null)
                {
                    _error = "give exactly one of prompt and prompt_token_ids; got both";
                }
                else if (prompt is null && promptIds is null)
                {
                    _error = "give exactly one of prompt and prompt_token_ids; got neither";
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

            int maxTokens = Int("max_tokens", RequestDefaults.MaxTokens, v => v >= 1, "must be >= 1");
            int minTokens = Int("min_tokens", RequestDefaults.MinTokens, v => v >= 0, "must be >= 0");
            if (_error is null && minTokens > maxTokens)
            {
                _error = $"min_tokens must be <= max_tokens; got min_tokens {minTokens} and max_tokens {maxTokens}";
            }

            double temperature = Number("temperature", RequestDefaults.Temperature, v => v >= 0, "must be >= 0");
            double topP = Number("top_p", RequestDefaults.TopP, v => v > 0 && v <= 1, "must be in (0, 1]");
            int topK = Int("top_k", RequestDefaults.TopK, v => v >= -1, "must be -1, 0 (off) or a positive number of tokens");
            double minP = Number("min_p", RequestDefaults.MinP, v => v >= 0 && v <= 1, "must be in [0, 1]");
            double repetition = Number("repetition_penalty", RequestDefaults.RepetitionPenalty, v => v > 0, "must be > 0");
            double presence = Number("presence_penalty", RequestDefaults.PresencePenalty, v => v >= -2 && v <= 2, "must be in [-2, 2]");
            double frequency = Number("frequency_penalty", RequestDefaults.FrequencyPenalty, v => v >= -2 && v <= 2, "must be in [-2, 2]");
            long? seed = Seed();
            string[] stop = Stop();
            int[] stopTokenIds = IntArray("stop_token_ids") ?? [];
            if (_error is null && stopTokenIds.Any(t => t < 0))
            {
                _error = $"stop_token_ids must be token ids >= 0; got {stopTokenIds.First(t => t < 0)}";
            }

            bool ignoreEos = Bool("ignore_eos");
            bool includeStop = Bool("include_stop_str_in_output");
            int? logprobs = Has("logprobs") ? Int("logprobs", 0, v => v is >= 0 and <= RequestDefaults.MaxLogprobs, $"must be in [0, {RequestDefaults.MaxLogprobs}]") : null;
            int priority = Int("priority", RequestDefaults.Priority, _ => true, string.Empty);

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

            return e.GetString();
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

        private int Int(string name, int defaultValue, Func<int, bool> rule, string ruleText)
        {
            if (!TryGet(name, out var e))
            {
                return defaultValue;
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int v))
            {
                _error = $"{name} must be a whole number (32-bit); got {Describe(e)}";
                return defaultValue;
            }

            if (!rule(v))
            {
                _error = $"{name} {ruleText}; got {v.ToString(CultureInfo.InvariantCulture)}";
            }

            return v;
        }

        private double Number(string name, double defaultValue, Func<double, bool> rule, string ruleText)
        {
            if (!TryGet(name, out var e))
            {
                return defaultValue;
            }

            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v))
            {
                _error = $"{name} must be a finite number; got {Describe(e)}";
                return defaultValue;
            }

            if (!rule(v))
            {
                _error = $"{name} {ruleText}; got {e.GetRawText()}";
            }

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
                stops = [e.GetString()!];
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

                    stops[i++] = item.GetString()!;
                }
            }
            else
            {
                _error = $"stop must be a string or an array of strings; got {Describe(e)}";
                return [];
            }

            if (stops.Length > RequestDefaults.MaxStopStrings)
            {
                _error = $"stop may hold at most {RequestDefaults.MaxStopStrings} strings; got {stops.Length}";
                return [];
            }

            foreach (var s in stops)
            {
                if (s.Length is < 1 or > RequestDefaults.MaxStopStringLength)
                {
                    _error = $"each stop string must be 1-{RequestDefaults.MaxStopStringLength} characters; got {Quote(s)} ({s.Length} characters)";
                    return [];
                }
            }

            return stops;
        }
    }
}
