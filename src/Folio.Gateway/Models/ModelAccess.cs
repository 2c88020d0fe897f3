using Folio.Gateway.Auth;
using Folio.Gateway.OpenAi;

namespace Folio.Gateway.Models;

/// <summary>
/// Whether a request may go out for the model it names: 403 when the caller's key is limited to
/// other models, 404 <c>model_not_found</c> when live workers exist and none serves it. With no live
/// worker at all the request is queued anyway: the queue holds the backlog until workers come.
/// </summary>
public sealed class ModelAccess(WorkerDirectory directory)
{
    public async Task CheckAsync(string model, Caller caller)
    {
        if (!caller.MayUse(model))
        {
            throw new OpenAiException(403, "This API key is not allowed to use the model this request names; use one of the models the key was given, or ask the operator", OpenAiException.InvalidRequestType, "model", "model_not_permitted");
        }

        var served = await directory.ModelsAsync().ConfigureAwait(false);
        if (served.Count > 0 && !served.Any(m => string.Equals(m.Model, model, StringComparison.Ordinal)))
        {
            throw new OpenAiException(404, $"The model this request names does not exist or no live worker serves it; the served models are: {string.Join(", ", served.Select(m => m.Model))} (GET /v1/models)", OpenAiException.InvalidRequestType, "model", "model_not_found");
        }
    }
}
