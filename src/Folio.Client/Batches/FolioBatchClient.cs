using Folio.Contracts;
using StackExchange.Redis;

namespace Folio.Client.Batches;

/// <summary>
/// Batches with durable results (docs/contract.md, "Batches"): submit the lines of a batch file,
/// read the batch hash, collect one result per line, cancel what has not finished. Request ids
/// derive from (batch_id, custom_id), so submitting a file again runs nothing twice: lines whose
/// requests already have a stream are not published again, and a worker answers a request whose
/// stream has ended without running it.
/// </summary>
public sealed class FolioBatchClient : IAsyncDisposable
{
    private readonly FolioClient _client;
    private readonly ConnectionMultiplexer _redis;
    private readonly BatchRegistry _registry;

    private FolioBatchClient(FolioClient client, ConnectionMultiplexer redis, string prefix)
    {
        _client = client;
        _redis = redis;
        _registry = new BatchRegistry(redis, prefix);
    }

    /// <summary>Publishes through this client (confirmed publishes).</summary>
    public FolioClient Client => _client;

    public static async Task<FolioBatchClient> ConnectAsync(FolioClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var client = await FolioClient.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        try
        {
            var config = ConfigurationOptions.Parse(options.RedisConfiguration);
            config.AbortOnConnectFail = false;
            var redis = await ConnectionMultiplexer.ConnectAsync(config).ConfigureAwait(false);
            return new FolioBatchClient(client, redis, options.StreamPrefix);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Registers the file's valid lines under its batch (the batch hash's total, kept
    /// <paramref name="ttlSeconds"/>), then publishes each line whose request has no stream yet.
    /// <paramref name="published"/> is told of every line handled (published or skipped).
    /// </summary>
    public async Task<BatchSubmitResult> SubmitAsync(BatchFile file, int ttlSeconds = BatchKeys.DefaultTtlSeconds, IProgress<int>? published = null, int concurrency = 64, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfLessThan(ttlSeconds, 1);
        await _registry.RegisterAsync(file.BatchId, file.Lines, ttlSeconds).ConfigureAwait(false);
        var exists = await _registry.StreamsExistAsync([.. file.Lines.Select(l => l.RequestId)]).ConfigureAwait(false);
        int skipped = exists.Count(e => e);
        if (skipped > 0)
        {
            published?.Report(skipped);
        }

        var fresh = file.Lines.Where((_, i) => !exists[i]).ToList();
        await Parallel.ForEachAsync(fresh, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (line, ct) =>
        {
            await _client.SubmitRawAsync(line.RequestId, line.RequestJson, ct).ConfigureAwait(false);
            published?.Report(1);
        }).ConfigureAwait(false);
        return new BatchSubmitResult(fresh.Count, skipped);
    }

    public Task<BatchStatus> StatusAsync(string batchId) => _registry.StatusAsync(CheckId(batchId));

    public Task<IReadOnlyList<BatchMember>> MembersAsync(string batchId) => _registry.MembersAsync(CheckId(batchId));

    /// <summary>
    /// The output line of every request that has ended (in file order), and the members still
    /// unfinished (queued, running, or whose stream expired). With <paramref name="wait"/> it polls
    /// until none is unfinished (cancel the token for a time limit); <paramref name="finished"/> is
    /// told of each request as its result is found.
    /// </summary>
    public async Task<BatchCollectResult> CollectAsync(string batchId, bool wait, IProgress<int>? finished = null, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default)
    {
        var members = await _registry.MembersAsync(CheckId(batchId)).ConfigureAwait(false);
        var lines = new string?[members.Count];
        var pending = Enumerable.Range(0, members.Count).ToList();
        while (true)
        {
            var still = new List<int>();
            foreach (var chunk in pending.Chunk(256))
            {
                var last = await _registry.LastEntriesAsync([.. chunk.Select(i => members[i].RequestId)]).ConfigureAwait(false);
                int found = 0;
                for (int k = 0; k < chunk.Length; k++)
                {
                    if (last[k] is { IsTerminal: true } terminal)
                    {
                        lines[chunk[k]] = BatchResultWriter.Line(members[chunk[k]], terminal);
                        found++;
                    }
                    else
                    {
                        still.Add(chunk[k]);
                    }
                }

                if (found > 0)
                {
                    finished?.Report(found);
                }
            }

            pending = still;
            if (pending.Count == 0 || !wait)
            {
                break;
            }

            await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }

        return new BatchCollectResult(members, [.. lines.Where(l => l is not null).Select(l => l!)], [.. pending.Select(i => members[i])]);
    }

    /// <summary>Publishes a cancel for every request of the batch whose stream has not ended; returns how many.</summary>
    public async Task<int> CancelAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var members = await _registry.MembersAsync(CheckId(batchId)).ConfigureAwait(false);
        int cancelled = 0;
        foreach (var chunk in members.Chunk(256))
        {
            var last = await _registry.LastEntriesAsync([.. chunk.Select(m => m.RequestId)]).ConfigureAwait(false);
            for (int k = 0; k < chunk.Length; k++)
            {
                if (last[k] is not { IsTerminal: true })
                {
                    await _client.CancelAsync(chunk[k].RequestId, cancellationToken).ConfigureAwait(false);
                    cancelled++;
                }
            }
        }

        return cancelled;
    }

    private static string CheckId(string batchId) => RequestIdRules.IsValid(batchId)
        ? batchId
        : throw new ArgumentException($"batch id must be {RequestIdRules.Description}; got {RequestIdRules.Explain(batchId)}", nameof(batchId));

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync().ConfigureAwait(false);
        await _redis.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>What collect found: every member, the output lines of those that ended (file order), and those that have not.</summary>
public sealed record BatchCollectResult(IReadOnlyList<BatchMember> Members, IReadOnlyList<string> Lines, IReadOnlyList<BatchMember> Unfinished);
