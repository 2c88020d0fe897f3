using Folio.Contracts;

namespace Folio.Gateway.Batches;

/// <summary>
/// The Batch API's Redis keys and ids, all under the stream prefix's namespace. An uploaded file is
/// <c>{prefix}~file:{file_id}</c>; everything that belongs to one batch carries the batch hash's
/// name as its hash tag (<c>{{prefix}~batch:{batch_id}}~openai</c>, <c>~file:output</c>,
/// <c>~file:errors</c>), so it lives in the batch's Redis Cluster slot beside the library's
/// <c>~requests</c> and <c>~counted</c> and one script can touch it all.
/// </summary>
internal static class BatchApiKeys
{
    private const string UploadIdPrefix = "file-";
    private const string OutputIdPrefix = "file-output-";
    private const string ErrorsIdPrefix = "file-errors-";
    private const string BatchIdPrefix = "batch_";
    private const int IdHexDigits = 24;

    public static string NewFileId() => UploadIdPrefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(IdHexDigits / 2));

    /// <summary>A batch id from the hash of what decides its requests (owner, endpoint, file content): the same file sent again is the same batch.</summary>
    public static string BatchId(ReadOnlySpan<byte> hash) => BatchIdPrefix + Convert.ToHexStringLower(hash)[..IdHexDigits];

    public static bool IsBatchId(string id) => id.Length == BatchIdPrefix.Length + IdHexDigits && id.StartsWith(BatchIdPrefix, StringComparison.Ordinal) && IsHex(id.AsSpan(BatchIdPrefix.Length));

    public static string OutputFileId(string batchId) => OutputIdPrefix + batchId;

    public static string ErrorFileId(string batchId) => ErrorsIdPrefix + batchId;

    /// <summary>The key holding file <paramref name="fileId"/>, or null when no file can have that id (then it is a 404).</summary>
    public static string? FileKey(string prefix, string fileId)
    {
        if (fileId.StartsWith(OutputIdPrefix, StringComparison.Ordinal) && IsBatchId(fileId[OutputIdPrefix.Length..]))
        {
            return OutputFile(prefix, fileId[OutputIdPrefix.Length..]);
        }

        if (fileId.StartsWith(ErrorsIdPrefix, StringComparison.Ordinal) && IsBatchId(fileId[ErrorsIdPrefix.Length..]))
        {
            return ErrorFile(prefix, fileId[ErrorsIdPrefix.Length..]);
        }

        return fileId.Length == UploadIdPrefix.Length + IdHexDigits && fileId.StartsWith(UploadIdPrefix, StringComparison.Ordinal) && IsHex(fileId.AsSpan(UploadIdPrefix.Length))
            ? prefix + "~file:" + fileId
            : null;
    }

    /// <summary>The OpenAI batch object's own fields (input file, endpoint, metadata, timestamps, line errors, final counts).</summary>
    public static string Record(string prefix, string batchId) => Tag(prefix, batchId) + "~openai";

    public static string OutputFile(string prefix, string batchId) => Tag(prefix, batchId) + "~file:output";

    public static string ErrorFile(string prefix, string batchId) => Tag(prefix, batchId) + "~file:errors";

    /// <summary>A caller's batches by creation time (a sorted set; members whose record expired are dropped when listed).</summary>
    public static string List(string prefix, string owner) => prefix + "~batches:" + owner;

    private static string Tag(string prefix, string batchId) => "{" + BatchKeys.Hash(prefix, batchId) + "}";

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
