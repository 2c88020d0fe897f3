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

        var live = await directory.LiveAsync().ConfigureAwait(false);
        if (live.Count > 0 && !live.Any(w => w.Serves(model)))
        {
            var served = live.Select(w => w.Model).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            throw new OpenAiException(404, $"The model this request names does not exist or no live worker serves it; the served models are: {string.Join(", ", served)} (GET /v1/models)", OpenAiException.InvalidRequestType, "model", "model_not_found");
        }
    }
}
