namespace Folio.Gateway.Serving;

/// <summary>
/// The request body limit (Folio:Gateway:MaxRequestBodyBytes), enforced while reading so that a
/// refused client still gets its 413. Kestrel's own limit throws at the first byte over and closes the
/// connection with the rest of the body unread, and a server that closes with unread bytes makes the
/// kernel send a reset, which can destroy the 413 before the client reads it (the client then sees a
/// broken pipe instead of an answer). So the gateway counts itself, and on refusal reads and
/// discards what is still coming, up to <see cref="DrainBytes"/> or <see cref="DrainTime"/> (what a
/// client that did not wait for 100-continue has already sent), before answering. Kestrel's limit
/// stays as the backstop at the limit plus that allowance.
/// </summary>
public static class BodyLimit
{
    public const long DrainBytes = 8L << 20;

    public static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(2);

    /// <summary>Kestrel's limit for a gateway limit of <paramref name="limit"/> bytes.</summary>
    public static long ServerLimit(long limit) => limit + DrainBytes;

    /// <summary>Reads what is left of <paramref name="body"/> and drops it, within the allowance; never throws.</summary>
    public static async Task DrainAsync(Stream body, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(DrainTime);
        var buffer = new byte[16 * 1024];
        long drained = 0;
        try
        {
            int n;
            while (drained < DrainBytes && (n = await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
            {
                drained += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // The allowance ran out or the client went away: answer anyway; the connection closes after it.
        }
    }
}

/// <summary>A read-only view of a request body that throws <see cref="BodyTooLargeException"/> past a byte limit.</summary>
internal sealed class LimitedBodyStream(Stream inner, long limit) : Stream
{
    private long _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Count(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Count(int n)
    {
        _read += n;
        return _read > limit ? throw new BodyTooLargeException() : n;
    }
}

internal sealed class BodyTooLargeException : Exception
{
    public BodyTooLargeException()
        : base("the request body is over the limit")
    {
    }
}
