using System.Text.Json;
using Folio.Gateway.Models;
using Folio.Gateway.OpenAi;

namespace Folio.Gateway.Serving;

/// <summary>GET /v1/models and /v1/models/{id}: the models live workers serve, in OpenAI's list shape.</summary>
public sealed class ModelsEndpoint(WorkerDirectory directory)
{
    public async Task ListAsync(HttpContext context)
    {
        var models = await directory.ModelsAsync().ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        using (var w = new Utf8JsonWriter(context.Response.BodyWriter, OpenAiJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var (model, created) in models)
            {
                WriteModel(w, model, created);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        var models = await directory.ModelsAsync().ConfigureAwait(false);
        var found = models.FirstOrDefault(m => string.Equals(m.Model, id, StringComparison.Ordinal));
        if (found.Model is null)
        {
            await new OpenAiException(404, "The model named in the URL does not exist or no live worker serves it (GET /v1/models lists them)", OpenAiException.InvalidRequestType, "model", "model_not_found").WriteResponseAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        using (var w = new Utf8JsonWriter(context.Response.BodyWriter, OpenAiJson.WriterOptions))
        {
            WriteModel(w, found.Model, found.CreatedMs);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteModel(Utf8JsonWriter w, string model, long createdMs)
    {
        w.WriteStartObject();
        w.WriteString("id", model);
        w.WriteString("object", "model");
        w.WriteNumber("created", createdMs / 1000);
        w.WriteString("owned_by", "folio");
        w.WriteEndObject();
    }
}
