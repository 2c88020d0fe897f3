using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Contracts;

namespace Folio.Client.Batches;

/// <summary>A body field Folio cannot take, with the reason (naming the field).</summary>
public sealed class BatchBodyException(string message) : Exception(message);

/// <summary>
/// The <c>body</c> of an OpenAI batch line to a contract request (docs/contract.md): fields the
/// contract knows under the same name are passed on, the few OpenAI spells differently are renamed
/// (max_completion_tokens, chat logprobs/top_logprobs), parameters Folio cannot honour are refused
/// naming them, and unknown ones are ignored as OpenAI ignores them. The contract's own parser then
/// checks types, ranges and combinations, so a line is refused here exactly when a worker would
/// refuse it, before anything is queued.
/// </summary>
public static class OpenAiBodyTranslator
{
    /// <summary>Passed on unchanged on both endpoints (OpenAI's names and the vLLM extensions the contract reads).</summary>
    private static readonly string[] Common =
    [
        "model", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty",
        "seed", "stop", "stop_token_ids", "ignore_eos", "include_stop_str_in_output", "min_tokens", "priority", "structured_outputs", "response_format",
    ];

    private static readonly string[] ChatOnly = ["messages", "tools", "add_generation_prompt", "continue_final_message", "chat_template_kwargs"];

    /// <summary>The contract request for one line; throws <see cref="BatchBodyException"/> naming the body field at fault.</summary>
    public static byte[] Translate(JsonObject body, BatchEndpoint endpoint, string requestId, string batchId, string customId)
    {
        ArgumentNullException.ThrowIfNull(body);
        Refuse(body, endpoint);
        var r = new JsonObject
        {
            ["request_id"] = requestId,
            ["batch_id"] = batchId,
            ["custom_id"] = customId,
        };
        foreach (string name in Common)
        {
            Copy(body, r, name);
        }

        if (endpoint == BatchEndpoint.ChatCompletions)
        {
            if (!body.ContainsKey("messages"))
            {
                throw new BatchBodyException("body.messages is required for /v1/chat/completions");
            }

            foreach (string name in ChatOnly)
            {
                Copy(body, r, name);
            }

            if ((Present(body, "max_completion_tokens") ?? Present(body, "max_tokens")) is { } max)
            {
                r["max_tokens"] = max.DeepClone();
            }

            bool logprobs = Present(body, "logprobs") is { } lp && lp.GetValueKind() switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new BatchBodyException("body.logprobs must be true or false for /v1/chat/completions"),
            };
            if (Present(body, "top_logprobs") is { } top)
            {
                if (!logprobs)
                {
                    throw new BatchBodyException("body.top_logprobs needs body.logprobs: true");
                }

                r["logprobs"] = top.DeepClone();
            }
            else if (logprobs)
            {
                r["logprobs"] = 0;
            }
        }
        else
        {
            TranslatePrompt(body, r);
            Copy(body, r, "max_tokens");
            Copy(body, r, "logprobs");
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(r);
        var parsed = RequestParser.Parse(json);
        if (!parsed.IsValid)
        {
            throw new BatchBodyException("body: " + parsed.Error!.Message);
        }

        return json;
    }

    private static void Refuse(JsonObject body, BatchEndpoint endpoint)
    {
        if (Present(body, "n") is { } n && !(n.GetValueKind() == JsonValueKind.Number && n.GetValue<double>() == 1))
        {
            throw new BatchBodyException("body.n must be 1: Folio has no parallel sampling; write one line per choice, each with its own seed");
        }

        if (Present(body, "stream") is { } s && s.GetValueKind() != JsonValueKind.False)
        {
            throw new BatchBodyException("body.stream must be false or absent: batch results are collected, not streamed");
        }

        if (Present(body, "logit_bias") is JsonObject bias && bias.Count > 0)
        {
            throw new BatchBodyException("body.logit_bias is not supported; leave it out (stop_token_ids or structured_outputs steer tokens)");
        }

        if (endpoint == BatchEndpoint.Completions)
        {
            if (Present(body, "echo") is { } echo && echo.GetValueKind() != JsonValueKind.False)
            {
                throw new BatchBodyException("body.echo is not supported: the reply holds only the completion; leave it out or false");
            }

            if (Present(body, "suffix") is not null)
            {
                throw new BatchBodyException("body.suffix (insertion) is not supported; leave it out");
            }

            if (Present(body, "best_of") is { } bestOf && !(bestOf.GetValueKind() == JsonValueKind.Number && bestOf.GetValue<double>() == 1))
            {
                throw new BatchBodyException("body.best_of must be 1 or absent (no parallel sampling)");
            }

            if (body.ContainsKey("messages"))
            {
                throw new BatchBodyException("body.messages belongs to /v1/chat/completions; use that url, or give body.prompt");
            }
        }
        else if (body.ContainsKey("prompt"))
        {
            throw new BatchBodyException("body.prompt belongs to /v1/completions; use that url, or give body.messages");
        }
    }

    /// <summary>A string, a one-string array, a token id array or a one-array array of token ids; several prompts per line are refused.</summary>
    private static void TranslatePrompt(JsonObject body, JsonObject r)
    {
        switch (Present(body, "prompt"))
        {
            case null:
                throw new BatchBodyException("body.prompt is required for /v1/completions");
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                r["prompt"] = v.GetValue<string>();
                break;
            case JsonArray a when a.Count > 0 && a.All(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.Number):
                r["prompt_token_ids"] = a.DeepClone();
                break;
            case JsonArray a when a.Count == 1 && a[0] is JsonValue one && one.GetValueKind() == JsonValueKind.String:
                r["prompt"] = one.GetValue<string>();
                break;
            case JsonArray a when a.Count == 1 && a[0] is JsonArray ids:
                r["prompt_token_ids"] = ids.DeepClone();
                break;
            case JsonArray a when a.Count > 1:
                throw new BatchBodyException(string.Create(CultureInfo.InvariantCulture, $"body.prompt holds {a.Count} prompts; a batch line takes one (put each prompt on its own line with its own custom_id)"));
            default:
                throw new BatchBodyException("body.prompt must be a string, an array of token ids, or an array holding one of these");
        }
    }

    private static void Copy(JsonObject from, JsonObject to, string name)
    {
        if (Present(from, name) is { } v)
        {
            to[name] = v.DeepClone();
        }
    }

    /// <summary>The field's value; null when absent or JSON null (the contract treats null as absent).</summary>
    private static JsonNode? Present(JsonObject o, string name) => o.TryGetPropertyValue(name, out var v) ? v : null;
}
