using System.Globalization;
using Folio.Gateway.Options;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Folio.Gateway.Batches;

/// <summary>A file of the Files API, without its bytes.</summary>
/// <param name="CreatedAt">Unix seconds.</param>
public sealed record StoredFile(string Id, string Owner, string Filename, string Purpose, long CreatedAt, long Bytes);

/// <summary>
/// Files in Redis, one hash per file (owner, filename, purpose, created_at, bytes, content; a batch's
/// output and error files are written alike by <see cref="BatchStore"/>'s script), kept
/// for Folio:Redis:BatchTtlSeconds: any gateway serves any file. A file belongs to the API key that
/// uploaded it; to every other key it does not exist (404), so ids reveal nothing.
/// </summary>
public sealed class FileStore(IConnectionMultiplexer redis, IOptions<GatewayQueueOptions> queue, TimeProvider time)
{
    private const string Owner = "owner";
    private const string Filename = "filename";
    private const string Purpose = "purpose";
    private const string CreatedAt = "created_at";
    private const string Bytes = "bytes";
    private const string Content = "content";

    private readonly GatewayQueueOptions _queue = queue.Value;

    private IDatabase Db => redis.GetDatabase();

    public async Task<StoredFile> SaveAsync(string owner, string filename, string purpose, byte[] content)
    {
        string id = BatchApiKeys.NewFileId();
        var file = new StoredFile(id, owner, filename, purpose, time.GetUtcNow().ToUnixTimeSeconds(), content.Length);
        string key = BatchApiKeys.FileKey(_queue.StreamPrefix, id)!;
        var tx = Db.CreateTransaction();
        _ = tx.HashSetAsync(key, [new(Owner, owner), new(Filename, filename), new(Purpose, purpose), new(CreatedAt, file.CreatedAt), new(Bytes, file.Bytes), new(Content, content)]);
        _ = tx.KeyExpireAsync(key, TimeSpan.FromSeconds(_queue.BatchTtlSeconds));
        await tx.ExecuteAsync().ConfigureAwait(false);
        return file;
    }

    /// <summary>The file, or null when it does not exist, expired, or belongs to another key.</summary>
    public async Task<StoredFile?> InfoAsync(string owner, string fileId)
    {
        if (BatchApiKeys.FileKey(_queue.StreamPrefix, fileId) is not { } key)
        {
            return null;
        }

        var v = await Db.HashGetAsync(key, [Owner, Filename, Purpose, CreatedAt, Bytes]).ConfigureAwait(false);
        if (v[0].IsNull || (string)v[0]! != owner)
        {
            return null;
        }

        return new StoredFile(fileId, owner, (string?)v[1] ?? string.Empty, (string?)v[2] ?? string.Empty, Long(v[3]), Long(v[4]));
    }

    /// <summary>The file's bytes, or null as for <see cref="InfoAsync"/>.</summary>
    public async Task<byte[]?> ContentAsync(string owner, string fileId)
    {
        if (BatchApiKeys.FileKey(_queue.StreamPrefix, fileId) is not { } key)
        {
            return null;
        }

        var v = await Db.HashGetAsync(key, [Owner, Content]).ConfigureAwait(false);
        return v[0].IsNull || (string)v[0]! != owner ? null : (byte[]?)v[1] ?? [];
    }

    /// <summary>When a file created at <paramref name="createdAt"/> expires (Unix seconds).</summary>
    public long ExpiresAt(long createdAt) => createdAt + _queue.BatchTtlSeconds;

    private static long Long(RedisValue v) => v.IsNull ? 0 : long.Parse((string)v!, NumberStyles.Integer, CultureInfo.InvariantCulture);
}
