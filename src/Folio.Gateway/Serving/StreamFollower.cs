using System.Runtime.CompilerServices;
using Folio.Client;
using Folio.Contracts;
using StackExchange.Redis;
using StreamEntry = Folio.Client.StreamEntry;

namespace Folio.Gateway.Serving;

/// <summary>
/// Reads one request's Redis stream as a client must (docs/contract.md section 2, docs/gateway.md):
/// from the first entry, keeping the highest token index delivered and skipping every token entry at
/// or below it. When the worker generating a stream dies, the next one continues after the last
/// token in the stream, so the reader sees each index once; if a stream is ever rewritten (Redis
/// lost it and a worker started over) the repeated indices are skipped here. Redis being away for a
/// while is waited out; the caller's token bounds the wait.
/// </summary>
public sealed class StreamFollower(FolioClient client)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>Token entries above <paramref name="afterIndex"/> in index order, then the terminal entry. Start entries are skipped.</summary>
    public async IAsyncEnumerable<StreamEntry> FollowAsync(string requestId, int afterIndex, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string lastId = "0-0";
        int highest = afterIndex;
        while (true)
        {
            var entries = client.StreamAsync(requestId, lastId, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await entries.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException && !cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }

                    if (!more)
                    {
                        yield break;
                    }

                    var entry = entries.Current;
                    lastId = entry.Id;
                    switch (entry.Type)
                    {
                        case EntryTypes.Token:
                            if (entry.Index is not { } index || index <= highest)
                            {
                                continue;
                            }

                            highest = index;
                            yield return entry;
                            break;
                        case EntryTypes.Done or EntryTypes.Error:
                            yield return entry;
                            yield break;
                    }
                }
            }
            finally
            {
                await entries.DisposeAsync().ConfigureAwait(false);
            }

            await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
        }
    }
}
