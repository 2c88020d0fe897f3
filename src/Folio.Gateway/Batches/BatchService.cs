using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Client.Batches;
using Folio.Gateway.Auth;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Folio.Gateway.Serving;
using Microsoft.Extensions.Options;
using R = Folio.Gateway.Batches.BatchRecord;

namespace Folio.Gateway.Batches;

/// <summary>What POST /v1/batches was given, checked.</summary>
public sealed record BatchCreateRequest(string InputFileId, BatchEndpoint Endpoint, string CompletionWindow, string? MetadataJson);

/// <summary>
/// The Batch API over Folio.Client's batches (FolioBatchClient): create reads the uploaded file with
/// BatchFileReader and submits its valid lines; a batch's status comes from the library's batch
/// hash while it runs, and when every line has ended (or it is cancelled, or its 24 h window
/// passes) its results are collected once (CollectAsync) into an output file and an error file.
/// Nothing is held in the gateway: any gateway answers any call.
/// </summary>
public sealed class BatchService(Connections connections, FileStore files, BatchStore store, IOptions<GatewayQueueOptions> queue, TimeProvider time, ILogger<BatchService> log)
{
    private readonly int _ttlSeconds = queue.Value.BatchTtlSeconds;

    /// <summary>
    /// Creates the batch, or returns the existing one. The batch id is a hash of the caller, the
    /// endpoint and the file's bytes, and request ids derive from (batch id, custom_id): the same
    /// file sent again (also uploaded again) names the same batch and the same requests, so nothing
    /// runs twice.
    /// </summary>
    public async Task<BatchView> CreateAsync(Caller caller, BatchCreateRequest request)
    {
        var file = await files.InfoAsync(caller.Name, request.InputFileId).ConfigureAwait(false)
            ?? throw new OpenAiException(404, "No file with the id input_file_id names (upload it with POST /v1/files, purpose batch; files expire after Folio:Redis:BatchTtlSeconds)", OpenAiException.InvalidRequestType, "input_file_id", "file_not_found");
        if (file.Purpose != "batch")
        {
            throw OpenAiException.Invalid("input_file_id must name a file uploaded with purpose \"batch\"", "input_file_id", "invalid_file_purpose");
        }

        byte[] content = await files.ContentAsync(caller.Name, request.InputFileId).ConfigureAwait(false) ?? [];
        string url = BatchEndpoints.Url(request.Endpoint);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(caller.Name + "\n" + url + "\n"));
        hash.AppendData(content);
        string batchId = BatchApiKeys.BatchId(hash.GetHashAndReset());
        var existing = await store.ReadAsync(batchId).ConfigureAwait(false);
        if (existing is { InProgressAt: not null } or { FinalStatus: not null })
        {
            Log.BatchExists(log, batchId, caller.Name);
            return await ViewAsync(existing).ConfigureAwait(false);
        }

        var (valid, invalid) = Read(content, batchId, request.Endpoint, caller);
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        var fields = new List<KeyValuePair<string, string>>
        {
            new(R.OwnerField, caller.Name),
            new(R.InputFileIdField, request.InputFileId),
            new(R.EndpointField, url),
            new(R.CompletionWindowField, request.CompletionWindow),
            new(R.CreatedAtField, now.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new(R.InvalidLinesField, JsonSerializer.Serialize(invalid, BatchJson.SerializerOptions)),
            new(R.InvalidField, invalid.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (request.MetadataJson is { } metadata)
        {
            fields.Add(new(R.MetadataField, metadata));
        }

        await store.CreateAsync(batchId, caller.Name, fields, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        if (valid.Lines.Count == 0)
        {
            // As OpenAI fails a batch whose file does not validate: nothing runs, the reasons are in errors.
            await store.FinalizeAsync(batchId, BatchStatuses.Failed, now, 0, invalid.Count, invalid.Count, [], []).ConfigureAwait(false);
        }
        else
        {
            // A create that died between its record and here is finished by the next create of the same file.
            var submitted = await connections.Batches.SubmitAsync(valid, _ttlSeconds).ConfigureAwait(false);
            await store.SetOnceAsync(batchId, R.InProgressAtField, time.GetUtcNow().ToUnixTimeSeconds()).ConfigureAwait(false);
            Log.BatchCreated(log, batchId, caller.Name, submitted.Published, submitted.AlreadySubmitted, invalid.Count);
        }

        return await ViewAsync((await store.ReadAsync(batchId).ConfigureAwait(false))!).ConfigureAwait(false);
    }

    /// <summary>The caller's batch, or null (never created, expired, or another key's).</summary>
    public async Task<BatchView?> GetAsync(Caller caller, string batchId)
    {
        var record = BatchApiKeys.IsBatchId(batchId) ? await store.ReadAsync(batchId).ConfigureAwait(false) : null;
        return record is null || record.Owner != caller.Name ? null : await ViewAsync(record).ConfigureAwait(false);
    }

    /// <summary>Publishes a cancel for every request not yet ended; the batch is cancelling until they all have.</summary>
    public async Task<BatchView?> CancelAsync(Caller caller, string batchId)
    {
        var view = await GetAsync(caller, batchId).ConfigureAwait(false);
        if (view is null || view.Status is not (BatchStatuses.InProgress or BatchStatuses.Validating or BatchStatuses.Cancelling))
        {
            return view;
        }

        await store.SetOnceAsync(batchId, R.CancellingAtField, time.GetUtcNow().ToUnixTimeSeconds()).ConfigureAwait(false);
        int cancelled = await connections.Batches.CancelAsync(batchId).ConfigureAwait(false);
        Log.BatchCancelled(log, batchId, caller.Name, cancelled);
        return await ViewAsync((await store.ReadAsync(batchId).ConfigureAwait(false))!).ConfigureAwait(false);
    }

    public async Task<(IReadOnlyList<BatchView> Page, bool HasMore)> ListAsync(Caller caller, string? after, int limit)
    {
        var (records, more) = await store.ListAsync(caller.Name, after, limit).ConfigureAwait(false);
        var views = new List<BatchView>(records.Count);
        foreach (var r in records)
        {
            views.Add(await ViewAsync(r).ConfigureAwait(false));
        }

        return (views, more);
    }

    /// <summary>The status now; a batch found ended is finalized here (its results collected into files), once.</summary>
    private async Task<BatchView> ViewAsync(BatchRecord r)
    {
        if (r.FinalStatus is { } final)
        {
            return new BatchView(r, final, r.Completed, r.Failed, r.Total);
        }

        if (r.InProgressAt is null)
        {
            return new BatchView(r, r.CancellingAt is null ? BatchStatuses.Validating : BatchStatuses.Cancelling, 0, 0, 0);
        }

        var status = await connections.Batches.StatusAsync(r.Id).ConfigureAwait(false);
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        string? ending = !status.Exists ? BatchStatuses.Expired
            : status.Unfinished == 0 ? (r.CancellingAt is null ? BatchStatuses.Completed : BatchStatuses.Cancelled)
            : now >= r.ExpiresAt ? BatchStatuses.Expired
            : null;
        if (ending is null)
        {
            return new BatchView(r, r.CancellingAt is null ? BatchStatuses.InProgress : BatchStatuses.Cancelling, status.Done, status.Failed + r.Invalid, status.Total + r.Invalid);
        }

        if (ending == BatchStatuses.Expired && status.Exists)
        {
            // What has not run by the end of the window does not run, as OpenAI's expired batches.
            await connections.Batches.CancelAsync(r.Id).ConfigureAwait(false);
        }

        await FinalizeAsync(r, ending, now).ConfigureAwait(false);
        var ended = await store.ReadAsync(r.Id).ConfigureAwait(false) ?? r;
        return new BatchView(ended, ended.FinalStatus ?? ending, ended.Completed, ended.Failed, ended.Total);
    }

    /// <summary>Collects every request's result (CollectAsync, BatchResultWriter's lines) into the output file (successes) and the error file (the rest, and the file's invalid lines).</summary>
    private async Task FinalizeAsync(BatchRecord r, string status, long now)
    {
        var collected = await connections.Batches.CollectAsync(r.Id, wait: false).ConfigureAwait(false);
        var output = new StringBuilder();
        var errors = new StringBuilder();
        long completed = 0;
        long failed = 0;
        foreach (string line in collected.Lines)
        {
            bool ok = BatchJson.IsSuccess(line);
            (ok ? output : errors).Append(line).Append('\n');
            _ = ok ? completed++ : failed++;
        }

        foreach (var m in collected.Unfinished)
        {
            errors.Append(BatchJson.ErrorLine("batch_req_" + m.RequestId, m.CustomId, status == BatchStatuses.Expired ? "batch_expired" : "result_missing", status == BatchStatuses.Expired
                ? "the batch's 24h completion window ended before this request ran"
                : "the request's result expired from Redis (Folio:Redis:BatchTtlSeconds) before it was collected")).Append('\n');
            failed++;
        }

        foreach (var bad in JsonSerializer.Deserialize<List<InvalidLine>>(r.InvalidLinesJson, BatchJson.SerializerOptions) ?? [])
        {
            errors.Append(BatchJson.ErrorLine($"batch_req_{r.Id}-line{bad.Line}", bad.CustomId, bad.Code, $"line {bad.Line}: {bad.Message}")).Append('\n');
            failed++;
        }

        await store.FinalizeAsync(r.Id, status, now, completed, failed, completed + failed, Encoding.UTF8.GetBytes(output.ToString()), Encoding.UTF8.GetBytes(errors.ToString())).ConfigureAwait(false);
        Log.BatchEnded(log, r.Id, status, completed, failed);
    }

    /// <summary>The file's lines that run on this batch, and the ones that do not (BatchFileReader's errors, another endpoint's url, a model the key may not use).</summary>
    private static (BatchFile Valid, List<InvalidLine> Invalid) Read(byte[] content, string batchId, BatchEndpoint endpoint, Caller caller)
    {
        BatchFile file;
        try
        {
            file = BatchFileReader.Read(content, batchId);
        }
        catch (DecoderFallbackException)
        {
            throw OpenAiException.Invalid("the input file is not UTF-8 text; a batch file is UTF-8 JSONL, one request per line", "input_file_id", "invalid_file");
        }

        string[] raw = Encoding.UTF8.GetString(content).TrimStart('\uFEFF').Split('\n');
        var invalid = file.Errors.Select(e => new InvalidLine(e.LineNumber, "invalid_request", e.Reason, CustomIdOf(raw, e.LineNumber))).ToList();
        var lines = new List<BatchLine>(file.Lines.Count);
        foreach (var line in file.Lines)
        {
            if (line.Endpoint != endpoint)
            {
                invalid.Add(new InvalidLine(line.LineNumber, "invalid_url", $"url {BatchEndpoints.Url(line.Endpoint)} differs from the batch's endpoint {BatchEndpoints.Url(endpoint)}; every line must use the batch's endpoint", line.CustomId));
            }
            else if (caller.Models.Count > 0 && (line.Model is not { } model || !caller.MayUse(model)))
            {
                invalid.Add(new InvalidLine(line.LineNumber, "model_not_permitted", "this API key may not use the model the line's body names", line.CustomId));
            }
            else
            {
                lines.Add(line);
            }
        }

        invalid.Sort((a, b) => a.Line.CompareTo(b.Line));
        return (file with { Lines = lines, Errors = [] }, invalid);
    }

    /// <summary>The custom_id of a line that did not validate, when it has a readable one.</summary>
    private static string? CustomIdOf(string[] raw, int lineNumber)
    {
        try
        {
            return lineNumber <= raw.Length && JsonNode.Parse(raw[lineNumber - 1]) is JsonObject o && o["custom_id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
