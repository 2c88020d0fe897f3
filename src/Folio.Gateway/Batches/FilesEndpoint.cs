using Folio.Gateway.Auth;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Folio.Gateway.Serving;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Folio.Gateway.Batches;

/// <summary>
/// POST /v1/files (multipart/form-data: <c>file</c> and <c>purpose</c> = batch), GET /v1/files/{id}
/// and GET /v1/files/{id}/content: the Files API as far as the Batch API needs it. Uploads are
/// bounded by Folio:Gateway:MaxFileBytes (413 beyond); the bytes go to Redis (<see cref="FileStore"/>).
/// </summary>
public sealed class FilesEndpoint(FileStore files, IOptions<GatewayOptions> options, ILogger<FilesEndpoint> log)
{
    /// <summary>What a multipart body may hold besides the file itself (boundaries, part headers, the purpose field).</summary>
    private const long FormOverheadBytes = 64 * 1024;

    private const int MaxPurposeLength = 64;

    private readonly long _maxFileBytes = options.Value.MaxFileBytes;

    public async Task UploadAsync(HttpContext context)
    {
        var caller = Caller.Of(context)!;
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
        {
            throw OpenAiException.Invalid("POST /v1/files takes multipart/form-data with the fields file (the JSONL) and purpose (batch)", "file", "invalid_request");
        }

        long limit = _maxFileBytes + FormOverheadBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // The server-wide limit is sized for completion bodies; an upload may be larger.
            size.MaxRequestBodySize = BodyLimit.ServerLimit(limit);
        }

        if (context.Request.ContentLength > limit)
        {
            await BodyLimit.DrainAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            throw TooLarge();
        }

        byte[]? content = null;
        string filename = "upload.jsonl";
        string? purpose = null;
        try
        {
            await using var body = new LimitedBodyStream(context.Request.Body, limit);
            var reader = new MultipartReader(boundary, body);
            while (await reader.ReadNextSectionAsync(context.RequestAborted).ConfigureAwait(false) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                {
                    continue;
                }

                string? name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                if (name == "file")
                {
                    using var buffer = new MemoryStream();
                    await section.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                    if (buffer.Length > _maxFileBytes)
                    {
                        throw TooLarge();
                    }

                    content = buffer.ToArray();
                    filename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value is { Length: > 0 } f ? Printable(f) : filename;
                }
                else if (name == "purpose")
                {
                    using var text = new StreamReader(section.Body);
                    var chars = new char[MaxPurposeLength + 1];
                    int n = await text.ReadBlockAsync(chars, context.RequestAborted).ConfigureAwait(false);
                    purpose = new string(chars, 0, n).Trim();
                }
                else
                {
                    await section.Body.CopyToAsync(Stream.Null, context.RequestAborted).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is BodyTooLargeException || (e is BadHttpRequestException b && b.StatusCode == StatusCodes.Status413PayloadTooLarge))
        {
            await BodyLimit.DrainAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            throw TooLarge();
        }
        catch (InvalidDataException)
        {
            throw OpenAiException.Invalid("the multipart/form-data body is malformed; send the fields file and purpose", "file", "invalid_request");
        }

        if (content is null)
        {
            throw OpenAiException.Invalid("the file field is missing: send the JSONL as the multipart field file", "file", "missing_required_parameter");
        }

        if (purpose is null)
        {
            throw OpenAiException.Invalid("the purpose field is missing: this gateway stores files for the Batch API, purpose batch", "purpose", "missing_required_parameter");
        }

        if (purpose != "batch")
        {
            throw OpenAiException.Invalid("purpose must be batch: this gateway stores files for the Batch API only", "purpose", "invalid_value");
        }

        var file = await files.SaveAsync(caller.Name, filename, purpose, content).ConfigureAwait(false);
        Log.FileStored(log, file.Id, caller.Name, file.Bytes);
        await BatchJson.ReplyAsync(context, w => BatchJson.WriteFile(w, file, files.ExpiresAt(file.CreatedAt))).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        var file = await files.InfoAsync(Caller.Of(context)!.Name, id).ConfigureAwait(false) ?? throw NotFound();
        await BatchJson.ReplyAsync(context, w => BatchJson.WriteFile(w, file, files.ExpiresAt(file.CreatedAt))).ConfigureAwait(false);
    }

    public async Task ContentAsync(HttpContext context, string id)
    {
        byte[] content = await files.ContentAsync(Caller.Of(context)!.Name, id).ConfigureAwait(false) ?? throw NotFound();
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = content.Length;
        await context.Response.Body.WriteAsync(content, context.RequestAborted).ConfigureAwait(false);
    }

    private static OpenAiException NotFound() =>
        new(404, "No such file: never uploaded, expired (Folio:Redis:BatchTtlSeconds), or uploaded with another API key", OpenAiException.InvalidRequestType, "file_id", "file_not_found");

    private OpenAiException TooLarge() => JsonBody.TooLarge(_maxFileBytes, "Folio:Gateway:MaxFileBytes");

    /// <summary>At most 255 printable characters of the client's file name (it is echoed back in the file object, never logged).</summary>
    private static string Printable(string name)
    {
        var chars = name.Take(255).Select(c => char.IsControl(c) ? '_' : c).ToArray();
        return new string(chars);
    }
}
