using System.Text.Json;

namespace Folio.Gateway.OpenAi;

/// <summary>
/// An error as OpenAI's API answers it: an HTTP status and <c>{"error": {"message", "type", "param",
/// "code"}}</c>. Messages say what to change and never quote what the client sent (a prompt, a key).
/// </summary>
public sealed class OpenAiException(int status, string message, string type, string? param, string? code) : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    public const string InvalidRequestType = "invalid_request_error";

    /// <summary>400: a parameter is wrong (its type, range or combination).</summary>
    public static OpenAiException Invalid(string message, string? param, string code = "invalid_value") => new(400, message, InvalidRequestType, param, code);

    /// <summary>400: a parameter names something Folio does not do (yet).</summary>
    public static OpenAiException Unsupported(string message, string? param) => new(400, message, InvalidRequestType, param, "unsupported");

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", Message);
        w.WriteString("type", Type);
        if (Param is null)
        {
            w.WriteNull("param");
        }
        else
        {
            w.WriteString("param", Param);
        }

        if (Code is null)
        {
            w.WriteNull("code");
        }
        else
        {
            w.WriteString("code", Code);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    public byte[] ToUtf8Json()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, OpenAiJson.WriterOptions))
        {
            WriteTo(w);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Answers the HTTP request with this error (headers not yet sent).</summary>
    public async Task WriteResponseAsync(HttpContext context)
    {
        context.Response.StatusCode = Status;
        context.Response.ContentType = "application/json";
        if (Status == 429 && context.Response.Headers.RetryAfter.Count == 0)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        await context.Response.Body.WriteAsync(ToUtf8Json(), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// A worker's error entry as an HTTP error: the contract's codes (docs/contract.md sections 2
    /// and 6.3) to OpenAI's statuses. The worker's message never quotes the request, so it is relayed.
    /// </summary>
    public static OpenAiException FromWorker(string? code, string? message, string promptParam)
    {
        string text = string.IsNullOrEmpty(message) ? "the worker refused the request" : message;
        return code switch
        {
            "invalid_request" => new OpenAiException(400, text, InvalidRequestType, null, "invalid_request"),
            "prompt_too_long" => new OpenAiException(400, text, InvalidRequestType, promptParam, "context_length_exceeded"),
            "unsupported" => new OpenAiException(400, text, InvalidRequestType, null, "unsupported"),
            "model_not_found" => new OpenAiException(404, text, InvalidRequestType, "model", "model_not_found"),
            "deadline_exceeded" => DeadlineExceeded(),
            "queue_full" => QueueFull(text),
            _ => new OpenAiException(500, "the worker failed while serving this request: " + text, "server_error", null, code ?? "internal"),
        };
    }

    public static OpenAiException DeadlineExceeded() =>
        new(504, "the request's deadline (Folio-Deadline-Ms or timeout header) passed before it finished; it was cancelled. Allow more time or send a shorter request", "timeout_error", null, "deadline_exceeded");

    public static OpenAiException QueueFull(string message) => new(429, message, "rate_limit_error", null, "queue_full");
}
