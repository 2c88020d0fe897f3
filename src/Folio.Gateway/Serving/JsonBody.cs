using System.Text.Json;
using Folio.Gateway.OpenAi;

namespace Folio.Gateway.Serving;

/// <summary>
/// Reads a small JSON request body within Folio:Gateway:MaxRequestBodyBytes (413 beyond, after
/// draining what the client already sent, as <see cref="BodyLimit"/> explains; 400 invalid_json for
/// what does not parse). Every JSON endpoint of the gateway reads its body here.
/// </summary>
public static class JsonBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <param name="advice">What the 413's message tells the caller to do, after the limit.</param>
    public static async Task<JsonDocument> ReadAsync(HttpContext context, long limit, string? advice = null)
    {
        if (context.Request.ContentLength > limit)
        {
            // A client that asked first (Expect: 100-continue) has sent nothing yet and never will:
            // reading would invite the body. One that did not ask is sending it now.
            if (!context.Request.Headers.Expect.Any(v => string.Equals(v, "100-continue", StringComparison.OrdinalIgnoreCase)))
            {
                await BodyLimit.DrainAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            }

            throw TooLarge(limit, "Folio:Gateway:MaxRequestBodyBytes", advice);
        }

        try
        {
            await using var body = new LimitedBodyStream(context.Request.Body, limit);
            return await JsonDocument.ParseAsync(body, Options, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BodyTooLargeException || (e is BadHttpRequestException b && b.StatusCode == StatusCodes.Status413PayloadTooLarge))
        {
            await BodyLimit.DrainAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            throw TooLarge(limit, "Folio:Gateway:MaxRequestBodyBytes", advice);
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : string.Empty;
            throw OpenAiException.Invalid($"the request body is not valid JSON{where}: send one JSON object (Content-Type: application/json)", null, "invalid_json");
        }
    }

    public static OpenAiException TooLarge(long limit, string key, string? advice = null) =>
        new(413, $"the request body is larger than this gateway accepts ({limit} bytes, {key}){(advice is null ? string.Empty : "; " + advice)}", OpenAiException.InvalidRequestType, null, "request_too_large");
}
