using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Folio.Contracts;

/// <summary>
/// The Redis keys of a batch (docs/contract.md, "Batches") and the request ids of its lines. The
/// batch hash <c>{prefix}~batch:{batch_id}</c> is the one section 6.4 names; the two hashes beside it
/// carry it as their hash tag, so that one script can update the hash and the set of counted
/// requests together on a Redis Cluster ('~' cannot occur in a request id, so none of these can
/// collide with a stream key).
/// </summary>
public static class BatchKeys
{
    /// <summary>Fields of the batch hash.</summary>
    public const string Total = "total";
    public const string Done = "done";
    public const string Failed = "failed";

    /// <summary>Default of Folio:Redis:BatchTtlSeconds: 7 days.</summary>
    public const int DefaultTtlSeconds = 604800;

    /// <summary><c>{prefix}~batch:{batch_id}</c>: total (set by the submitter), done and failed (counted by workers).</summary>
    public static string Hash(string prefix, string batchId) => prefix + "~batch:" + batchId;

    /// <summary><c>{{prefix}~batch:{batch_id}}~counted</c>: request_id to done|failed, once per request (what makes counting exactly once).</summary>
    public static string Counted(string prefix, string batchId) => "{" + Hash(prefix, batchId) + "}~counted";

    /// <summary><c>{{prefix}~batch:{batch_id}}~requests</c>: custom_id to request_id, written by the submitter (total is its size).</summary>
    public static string Requests(string prefix, string batchId) => "{" + Hash(prefix, batchId) + "}~requests";

    /// <summary>
    /// The request id of one line of a batch: <c>b{n}.{batch_id}.{custom_id}</c> with n the length of
    /// batch_id (so no two (batch, custom) pairs share an id, whatever dots they hold), or, when that
    /// exceeds the 128-character id rule, <c>bh.</c> and the SHA-256 of the same text in hex. The same
    /// line submitted twice gets the same id, and the worker acknowledges a request whose stream has
    /// already ended without running it again.
    /// </summary>
    public static string RequestId(string batchId, string customId)
    {
        string plain = "b" + batchId.Length.ToString(CultureInfo.InvariantCulture) + "." + batchId + "." + customId;
        if (plain.Length <= RequestDefaults.MaxRequestIdLength)
        {
            return plain;
        }

        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(plain));
        return "bh." + Convert.ToHexStringLower(hash);
    }
}
