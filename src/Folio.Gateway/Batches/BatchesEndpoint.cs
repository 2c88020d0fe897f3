using System.Globalization;
using System.Text.Json;
using Folio.Client;
using Folio.Client.Batches;
using Folio.Gateway.Auth;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Folio.Gateway.Serving;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace Folio.Gateway.Batches;

/// <summary>POST /v1/batches, GET /v1/batches/{id}, POST /v1/batches/{id}/cancel and GET /v1/batches, in OpenAI's shapes.</summary>
public sealed class BatchesEndpoint(BatchService batches, IOptions<GatewayOptions> options, ILogger<BatchesEndpoint> log)
{
    private const int MaxMetadataPairs = 16;
    private const int MaxMetadataKey = 64;
    private const int MaxMetadataValue = 512;

    private static readonly string[] OtherOpenAiEndpoints = ["/v1/responses", "/v1/embeddings", "/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"];

    public async Task CreateAsync(HttpContext context)
    {
        var caller = Caller.Of(context)!;
        BatchCreateRequest request;
        using (var body = await JsonBody.ReadAsync(context, options.Value.MaxRequestBodyBytes).ConfigureAwait(false))
        {
            request = Parse(body.RootElement);
        }

        BatchView view;
        try
        {
            view = await batches.CreateAsync(caller, request).ConfigureAwait(false);
        }
        catch (QueueFullException e)
        {
            throw OpenAiException.QueueFull(e.Message + " (the batch is not yet running; send the same create again to resume it)");
        }
        catch (ModelNotRoutedException e)
        {
            throw OpenAiException.FromWorker(ModelNotRoutedException.Code, e.Message + " (no line after it was queued; fix the file's model)", "model");
        }
        catch (Exception e) when (e is RequestNotRoutedException or BrokerUnreachableException or AlreadyClosedException or OperationInterruptedException or StackExchange.Redis.RedisException)
        {
            Log.PublishFailed(log, e.Message);
            throw new OpenAiException(503, "the batch could not be queued whole (the broker or Redis is unreachable); send the same create again shortly: it resumes, nothing runs twice", "server_error", null, "queue_unavailable");
        }

        await BatchJson.ReplyAsync(context, w => BatchJson.WriteBatch(w, view)).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        var view = await batches.GetAsync(Caller.Of(context)!, id).ConfigureAwait(false) ?? throw NotFound();
        await BatchJson.ReplyAsync(context, w => BatchJson.WriteBatch(w, view)).ConfigureAwait(false);
    }

    public async Task CancelAsync(HttpContext context, string id)
    {
        var view = await batches.CancelAsync(Caller.Of(context)!, id).ConfigureAwait(false) ?? throw NotFound();
        await BatchJson.ReplyAsync(context, w => BatchJson.WriteBatch(w, view)).ConfigureAwait(false);
    }

    /// <summary>The caller's batches, newest first; <c>limit</c> 1-100 (20), <c>after</c> a batch id from the previous page.</summary>
    public async Task ListAsync(HttpContext context)
    {
        int limit = 20;
        if (context.Request.Query.TryGetValue("limit", out var l) && !(int.TryParse(l.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= 100))
        {
            throw OpenAiException.Invalid("limit must be a whole number from 1 to 100", "limit");
        }

        string? after = context.Request.Query.TryGetValue("after", out var a) ? a.ToString() : null;
        var (page, more) = await batches.ListAsync(Caller.Of(context)!, after, limit).ConfigureAwait(false);
        await BatchJson.ReplyAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var view in page)
            {
                BatchJson.WriteBatch(w, view);
            }

            w.WriteEndArray();
            if (page.Count > 0)
            {
                w.WriteString("first_id", page[0].Record.Id);
                w.WriteString("last_id", page[^1].Record.Id);
            }
            else
            {
                w.WriteNull("first_id");
                w.WriteNull("last_id");
            }

            w.WriteBoolean("has_more", more);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static BatchCreateRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid("the request body must be a JSON object with input_file_id, endpoint and completion_window", null, "invalid_type");
        }

        string inputFileId = RequiredString(root, "input_file_id");
        string url = RequiredString(root, "endpoint");
        if (BatchEndpoints.FromUrl(url) is not { } endpoint)
        {
            throw OtherOpenAiEndpoints.Contains(url, StringComparer.Ordinal)
                ? OpenAiException.Unsupported($"endpoint must be {BatchEndpoints.CompletionsUrl} or {BatchEndpoints.ChatCompletionsUrl}: Folio serves no other endpoint", "endpoint")
                : OpenAiException.Invalid($"endpoint must be {BatchEndpoints.CompletionsUrl} or {BatchEndpoints.ChatCompletionsUrl}", "endpoint");
        }

        string window = RequiredString(root, "completion_window");
        if (window != "24h")
        {
            throw OpenAiException.Invalid("completion_window must be \"24h\"", "completion_window");
        }

        return new BatchCreateRequest(inputFileId, endpoint, window, Metadata(root));
    }

    private static string RequiredString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Invalid($"{name} is required", name, "missing_required_parameter");
        }

        return v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : throw OpenAiException.Invalid($"{name} must be a non-empty string", name, "invalid_type");
    }

    /// <summary>OpenAI's metadata: at most 16 pairs, keys up to 64 characters, string values up to 512. Kept as JSON.</summary>
    private static string? Metadata(JsonElement root)
    {
        if (!root.TryGetProperty("metadata", out var m) || m.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (m.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid("metadata must be an object of string values", "metadata", "invalid_type");
        }

        int pairs = 0;
        foreach (var p in m.EnumerateObject())
        {
            if (++pairs > MaxMetadataPairs || p.Name.Length > MaxMetadataKey || p.Value.ValueKind != JsonValueKind.String || p.Value.GetString()!.Length > MaxMetadataValue)
            {
                throw OpenAiException.Invalid($"metadata holds at most {MaxMetadataPairs} pairs, keys of at most {MaxMetadataKey} characters and string values of at most {MaxMetadataValue}", "metadata");
            }
        }

        return m.GetRawText();
    }

    private static OpenAiException NotFound() =>
        new(404, "No such batch: never created, expired (Folio:Redis:BatchTtlSeconds), or created with another API key", OpenAiException.InvalidRequestType, "batch_id", "batch_not_found");
}
