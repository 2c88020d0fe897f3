using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Contracts;

namespace Folio.Client.Batches;

/// <summary>
/// Reads a batch file in the OpenAI batch input format: one <c>{custom_id, method, url, body}</c>
/// object per line. Every line is judged on its own: a bad line is reported with its number and
/// the reason, and the others still run. Blank lines are skipped.
/// </summary>
public static class BatchFileReader
{
    /// <summary>
    /// The batch id a file gets when none is given: derived from its content, so submitting the same
    /// file again names the same batch, and so the same request ids.
    /// </summary>
    public static string DefaultBatchId(ReadOnlySpan<byte> content) => "batch-" + Convert.ToHexStringLower(SHA256.HashData(content))[..24];

    /// <param name="batchId">The batch id, or null for <see cref="DefaultBatchId"/>.</param>
    public static BatchFile Read(byte[] content, string? batchId)
    {
        ArgumentNullException.ThrowIfNull(content);
        batchId ??= DefaultBatchId(content);
        if (!RequestIdRules.IsValid(batchId))
        {
            throw new ArgumentException($"batch id must be {RequestIdRules.Description}; got {RequestIdRules.Explain(batchId)}", nameof(batchId));
        }

        var lines = new List<BatchLine>();
        var errors = new List<BatchLineError>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        string text = new UTF8Encoding(false, true).GetString(content);
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                var parsed = ReadLine(line, number, batchId, seen);
                lines.Add(parsed);
                seen[parsed.CustomId] = number;
            }
            catch (BatchBodyException e)
            {
                errors.Add(new BatchLineError(number, e.Message));
            }
        }

        return new BatchFile(batchId, lines, errors);
    }

    private static BatchLine ReadLine(string line, int number, string batchId, Dictionary<string, int> seen)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new BatchBodyException($"not JSON ({e.Message.Split(" Path:")[0].TrimEnd('.')}); each line must be one JSON object");
        }

        if (node is not JsonObject o)
        {
            throw new BatchBodyException("not a JSON object; each line must be {\"custom_id\", \"method\", \"url\", \"body\"}");
        }

        if (!o.TryGetPropertyValue("custom_id", out var cid) || cid is null)
        {
            throw new BatchBodyException("custom_id is missing; every line needs a unique custom_id");
        }

        if (cid.GetValueKind() != JsonValueKind.String || cid.GetValue<string>() is not { } customId || !RequestIdRules.IsValid(customId))
        {
            throw new BatchBodyException($"custom_id must be a string of {RequestIdRules.Description} (it names the request in Redis)");
        }

        if (seen.TryGetValue(customId, out int first))
        {
            throw new BatchBodyException($"custom_id '{customId}' duplicates line {first}; every custom_id must be unique within the file");
        }

        if (o.TryGetPropertyValue("method", out var method) && method is not null
            && !(method.GetValueKind() == JsonValueKind.String && method.GetValue<string>() == "POST"))
        {
            throw new BatchBodyException("method must be \"POST\"");
        }

        string? url = o.TryGetPropertyValue("url", out var u) && u?.GetValueKind() == JsonValueKind.String ? u.GetValue<string>() : null;
        if (BatchEndpoints.FromUrl(url) is not { } endpoint)
        {
            throw new BatchBodyException(url is null
                ? $"url is missing; give {BatchEndpoints.CompletionsUrl} or {BatchEndpoints.ChatCompletionsUrl}"
                : $"url must be {BatchEndpoints.CompletionsUrl} or {BatchEndpoints.ChatCompletionsUrl}; got '{Printable(url)}'");
        }

        if (!o.TryGetPropertyValue("body", out var b) || b is not JsonObject body)
        {
            throw new BatchBodyException("body is missing or not a JSON object");
        }

        string requestId = BatchKeys.RequestId(batchId, customId);
        byte[] json = OpenAiBodyTranslator.Translate(body, endpoint, requestId, batchId, customId);
        string? model = body.TryGetPropertyValue("model", out var m) && m?.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null;
        return new BatchLine(number, customId, requestId, endpoint, model, json);
    }

    /// <summary>At most 64 printable characters of a value from the file (it goes to a terminal).</summary>
    private static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > 64 ? s[..64] : s)
        {
            sb.Append(char.IsControl(c) ? '?' : c);
        }

        return sb.ToString();
    }
}
