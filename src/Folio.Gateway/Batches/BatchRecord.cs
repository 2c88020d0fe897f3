using System.Globalization;
using StackExchange.Redis;

namespace Folio.Gateway.Batches;

/// <summary>A line of the input file that does not run, as the batch object's <c>errors</c> and the error file report it.</summary>
/// <param name="CustomId">The line's custom_id when one could be read, else null.</param>
public sealed record InvalidLine(int Line, string Code, string Message, string? CustomId);

/// <summary>
/// The OpenAI batch object's own fields, one Redis hash (<see cref="BatchApiKeys.Record"/>): what
/// the create call was given, its line errors, and, once the batch ended, its final status, time,
/// counts and which result files exist. Progress while it runs comes from the library's batch hash.
/// </summary>
public sealed record BatchRecord(
    string Id,
    string Owner,
    string InputFileId,
    string Endpoint,
    string CompletionWindow,
    string? MetadataJson,
    long CreatedAt,
    string InvalidLinesJson,
    int Invalid,
    long? InProgressAt,
    long? CancellingAt,
    string? FinalStatus,
    long? FinalAt,
    long Completed,
    long Failed,
    long Total,
    bool HasOutput,
    bool HasErrors)
{
    public const string OwnerField = "owner";
    public const string InputFileIdField = "input_file_id";
    public const string EndpointField = "endpoint";
    public const string CompletionWindowField = "completion_window";
    public const string MetadataField = "metadata";
    public const string CreatedAtField = "created_at";
    public const string InvalidLinesField = "invalid_lines";
    public const string InvalidField = "invalid";
    public const string InProgressAtField = "in_progress_at";
    public const string CancellingAtField = "cancelling_at";
    public const string FinalStatusField = "final_status";
    public const string FinalAtField = "final_at";
    public const string CompletedField = "completed";
    public const string FailedField = "failed";
    public const string TotalField = "total";
    public const string OutputField = "output";
    public const string ErrorsField = "errors";

    /// <summary>OpenAI's completion window: a batch not finished this long after it was created expires.</summary>
    public const long WindowSeconds = 24 * 3600;

    public long ExpiresAt => CreatedAt + WindowSeconds;

    public static BatchRecord? From(string id, HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var d = entries.ToDictionary(e => (string)e.Name!, e => e.Value, StringComparer.Ordinal);
        string? S(string f) => d.TryGetValue(f, out var v) && !v.IsNull ? (string?)v : null;
        long? L(string f) => S(f) is { } s && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : null;
        if (S(OwnerField) is not { } owner || L(CreatedAtField) is not { } created)
        {
            return null;
        }

        return new BatchRecord(
            id,
            owner,
            S(InputFileIdField) ?? string.Empty,
            S(EndpointField) ?? string.Empty,
            S(CompletionWindowField) ?? "24h",
            S(MetadataField),
            created,
            S(InvalidLinesField) ?? "[]",
            (int)(L(InvalidField) ?? 0),
            L(InProgressAtField),
            L(CancellingAtField),
            S(FinalStatusField),
            L(FinalAtField),
            L(CompletedField) ?? 0,
            L(FailedField) ?? 0,
            L(TotalField) ?? 0,
            S(OutputField) == "1",
            S(ErrorsField) == "1");
    }
}

/// <summary>A batch as GET /v1/batches/{id} answers it: its record, its status now and its counts.</summary>
public sealed record BatchView(BatchRecord Record, string Status, long Completed, long Failed, long Total);

/// <summary>OpenAI's batch statuses.</summary>
public static class BatchStatuses
{
    public const string Validating = "validating";
    public const string Failed = "failed";
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Expired = "expired";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";
}
