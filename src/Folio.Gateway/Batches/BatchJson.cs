using System.Text.Json;
using Folio.Gateway.OpenAi;

namespace Folio.Gateway.Batches;

/// <summary>OpenAI's batch and file objects, and the lines of the error file the gateway writes itself.</summary>
public static class BatchJson
{
    public static readonly JsonSerializerOptions SerializerOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Whether an output line (BatchResultWriter's) holds a response: such lines go to the output file, the others to the error file.</summary>
    public static bool IsSuccess(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.TryGetProperty("response", out var r) && r.ValueKind == JsonValueKind.Object;
    }

    /// <summary>An error-file line in the batch output format, for a request that never ran.</summary>
    public static string ErrorLine(string id, string? customId, string code, string message)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            if (customId is null)
            {
                w.WriteNull("custom_id");
            }
            else
            {
                w.WriteString("custom_id", customId);
            }

            w.WriteNull("response");
            w.WriteStartObject("error");
            w.WriteString("code", code);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static void WriteFile(Utf8JsonWriter w, StoredFile file, long expiresAt)
    {
        w.WriteStartObject();
        w.WriteString("id", file.Id);
        w.WriteString("object", "file");
        w.WriteNumber("bytes", file.Bytes);
        w.WriteNumber("created_at", file.CreatedAt);
        w.WriteNumber("expires_at", expiresAt);
        w.WriteString("filename", file.Filename);
        w.WriteString("purpose", file.Purpose);
        w.WriteString("status", "processed");
        w.WriteNull("status_details");
        w.WriteEndObject();
    }

    public static void WriteBatch(Utf8JsonWriter w, BatchView view)
    {
        var r = view.Record;
        bool ended = r.FinalStatus is not null;
        w.WriteStartObject();
        w.WriteString("id", r.Id);
        w.WriteString("object", "batch");
        w.WriteString("endpoint", r.Endpoint);
        WriteErrors(w, r);
        w.WriteString("input_file_id", r.InputFileId);
        w.WriteString("completion_window", r.CompletionWindow);
        w.WriteString("status", view.Status);
        Id(w, "output_file_id", r.HasOutput ? BatchApiKeys.OutputFileId(r.Id) : null);
        Id(w, "error_file_id", r.HasErrors ? BatchApiKeys.ErrorFileId(r.Id) : null);
        w.WriteNumber("created_at", r.CreatedAt);
        Time(w, "in_progress_at", r.InProgressAt);
        w.WriteNumber("expires_at", r.ExpiresAt);
        Time(w, "finalizing_at", ended && view.Status != BatchStatuses.Failed ? r.FinalAt : null);
        Time(w, "completed_at", view.Status == BatchStatuses.Completed ? r.FinalAt : null);
        Time(w, "failed_at", view.Status == BatchStatuses.Failed ? r.FinalAt : null);
        Time(w, "expired_at", view.Status == BatchStatuses.Expired ? r.FinalAt : null);
        Time(w, "cancelling_at", r.CancellingAt);
        Time(w, "cancelled_at", view.Status == BatchStatuses.Cancelled ? r.FinalAt : null);
        w.WriteStartObject("request_counts");
        w.WriteNumber("total", view.Total);
        w.WriteNumber("completed", view.Completed);
        w.WriteNumber("failed", view.Failed);
        w.WriteEndObject();
        w.WritePropertyName("metadata");
        if (r.MetadataJson is { } metadata)
        {
            w.WriteRawValue(metadata);
        }
        else
        {
            w.WriteNullValue();
        }

        w.WriteEndObject();
    }

    /// <summary>The file's invalid lines as OpenAI's <c>errors</c> list (null when every line ran).</summary>
    private static void WriteErrors(Utf8JsonWriter w, BatchRecord r)
    {
        var lines = r.Invalid == 0 ? null : JsonSerializer.Deserialize<List<InvalidLine>>(r.InvalidLinesJson, SerializerOptions);
        if (lines is not { Count: > 0 })
        {
            w.WriteNull("errors");
            return;
        }

        w.WriteStartObject("errors");
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var l in lines)
        {
            w.WriteStartObject();
            w.WriteString("code", l.Code);
            w.WriteString("message", l.Message);
            w.WriteNull("param");
            w.WriteNumber("line", l.Line);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Id(Utf8JsonWriter w, string name, string? id)
    {
        if (id is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, id);
        }
    }

    private static void Time(Utf8JsonWriter w, string name, long? at)
    {
        if (at is { } t)
        {
            w.WriteNumber(name, t);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>Writes <paramref name="write"/>'s JSON as a 200 reply.</summary>
    public static async Task ReplyAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        using (var w = new Utf8JsonWriter(context.Response.BodyWriter, OpenAiJson.WriterOptions))
        {
            write(w);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
