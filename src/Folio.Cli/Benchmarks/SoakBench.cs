using System.Diagnostics;
using System.Globalization;
using Folio.Client;
using Folio.Contracts;
using Folio.ModelTools;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// `folio bench soak`: a backlog of requests (10,000 by default) published first, then one worker
/// process started on it, with short outputs so that the run measures the queue path and the
/// worker's own bookkeeping rather than the model. Reports throughput, the worker's resident memory
/// (sampled: once warm, at the end, the peak), Redis memory (INFO used_memory before, at the peak and
/// after, with every finished stream still held for its TTL), and whether anything was lost: every
/// stream must end exactly once, well-formed, with nothing dead-lettered or left in the queue.
/// </summary>
public static class SoakBench
{
    public static async Task<SoakBenchResult> RunAsync(SoakBenchOptions o, TextWriter output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(output);
        string prefix = "soak" + Guid.NewGuid().ToString("N")[..8];
        var run = new FolioClientOptions
        {
            RabbitMqUri = o.Connection.RabbitMqUri,
            RedisConfiguration = o.Connection.RedisConfiguration,
            RequestQueue = prefix + ".requests",
            CancelExchange = prefix + ".cancel",
            StreamPrefix = prefix + ":stream:",
        };
        string? tempFolder = null;
        string modelPath = o.Model;
        if (o.Model == "tiny")
        {
            tempFolder = Path.Combine(Path.GetTempPath(), prefix);
            Directory.CreateDirectory(tempFolder);
            modelPath = Path.Combine(tempFolder, "tiny.gguf");
            TestModelWriter.Write(modelPath, TestModelFormat.Gguf, new TestModelOptions { MaxPositions = 256 });
        }

        var redisConfig = ConfigurationOptions.Parse(o.Connection.RedisConfiguration);
        redisConfig.AbortOnConnectFail = false;
        redisConfig.AllowAdmin = true;
        redisConfig.AsyncTimeout = redisConfig.SyncTimeout = 30_000;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisConfig).ConfigureAwait(false);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var ids = Enumerable.Range(0, o.Requests).Select(i => "r" + i.ToString("00000", CultureInfo.InvariantCulture)).ToList();
        Process? worker = null;
        try
        {
            long redisBefore = await UsedMemoryAsync(server).ConfigureAwait(false);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench soak: {o.Requests} requests x {o.MaxTokens} tokens, model {o.Model}, one worker (max_num_seqs {o.MaxNumSeqs}, {o.Threads} threads), queue {run.RequestQueue}"));

            // The backlog first: the worker starts on a full queue.
            var publish = Stopwatch.StartNew();
            await using (var client = await FolioClient.ConnectAsync(run, ct).ConfigureAwait(false))
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, o.Requests), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (i, c) =>
                    await client.SubmitAsync(new GenerationRequest { RequestId = ids[i], Prompt = Prompt(i), MaxTokens = o.MaxTokens, Temperature = 0.8, Seed = i, IgnoreEos = true }, c).ConfigureAwait(false)).ConfigureAwait(false);
            }

            double publishSeconds = publish.Elapsed.TotalSeconds;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  published the backlog in {publishSeconds:F1} s ({o.Requests / publishSeconds:F0} msg/s)"));

            var reader = new SoakStreamReader(redis.GetDatabase(), run.StreamPrefix, ids, o.MaxTokens);
            var clock = Stopwatch.StartNew();
            worker = StartWorker(o, run, modelPath, prefix + "-worker", output);
            using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var samples = SampleAsync(worker, server, reader, o, sampling.Token);
            await reader.RunAsync(o.StallTimeout, ct).ConfigureAwait(false);
            double seconds = clock.Elapsed.TotalSeconds;
            await sampling.CancelAsync().ConfigureAwait(false);
            var memory = await samples.ConfigureAwait(false);

            // A moment for anything that should not come (a second terminal entry, a dead letter), then look.
            await Task.Delay(2000, ct).ConfigureAwait(false);
            int rechecked = await reader.RecheckAsync().ConfigureAwait(false);
            long redisAfter = await UsedMemoryAsync(server).ConfigureAwait(false);
            var (dead, left) = await QueueCountsAsync(run, ct).ConfigureAwait(false);
            double steady = Stopwatch.GetElapsedTime(reader.FirstTerminalAt, reader.LastTerminalAt).TotalSeconds;
            var result = new SoakBenchResult(o.Requests, publishSeconds, seconds, Math.Max(steady, 1e-3), reader.Completed, reader.Unfinished.Count,
                reader.Malformed + rechecked, reader.Errors, dead, left, memory.RssStart, memory.RssEnd, memory.RssPeak, redisBefore, redisAfter, Math.Max(memory.RedisPeak, redisAfter), reader.Problems);
            Print(result, o, output);
            return result;
        }
        finally
        {
            if (worker is not null)
            {
                if (!worker.HasExited)
                {
                    worker.Kill(entireProcessTree: true);
                }

                await worker.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                worker.Dispose();
            }

            await CleanUpAsync(run, redis, server, output).ConfigureAwait(false);
            if (tempFolder is not null)
            {
                Directory.Delete(tempFolder, recursive: true);
            }
        }
    }

    /// <summary>
    /// One of a hundred prompts (the seed differs per request). Prompts with a new word each would
    /// fill the tokenizer's word cache (bounded: 50,000 words, about 8 MiB, cleared when full) and
    /// show as RSS growth that is not the worker's.
    /// </summary>
    private static string Prompt(int i) => "soak request number " + (i % 100).ToString(CultureInfo.InvariantCulture);

    private static void Print(SoakBenchResult r, SoakBenchOptions o, TextWriter output)
    {
        const double MiB = 1024.0 * 1024.0;
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"  throughput: {r.Completed} requests in {r.Seconds:F1} s from the worker's start: {r.RequestsPerSecond:F0} req/s ({r.RequestsPerSecond * o.MaxTokens:F0} tok/s); {r.SteadyRequestsPerSecond:F0} req/s between the first and the last answer"));
        output.WriteLine(string.Create(c, $"  worker RSS: {r.RssStartBytes / MiB:F1} MiB once warm (a tenth done), {r.RssEndBytes / MiB:F1} MiB at the end, peak {r.RssPeakBytes / MiB:F1} MiB; growth {(r.RssEndBytes - r.RssStartBytes) / MiB:+0.0;-0.0} MiB over {r.Requests * 9 / 10} requests"));
        output.WriteLine(string.Create(c, $"  Redis used_memory: {r.RedisBeforeBytes / MiB:F1} MiB before, {r.RedisPeakBytes / MiB:F1} MiB peak, {r.RedisAfterBytes / MiB:F1} MiB after with every stream kept for its TTL ({(r.RedisAfterBytes - r.RedisBeforeBytes) / (double)Math.Max(1, r.Completed):F0} bytes per finished request)"));
        output.WriteLine(string.Create(c, $"  lost: {r.Lost}; malformed streams: {r.Malformed}; error entries: {r.Errors}; dead-lettered: {r.DeadLettered}; left in the queue: {r.LeftInQueue} => {(r.NothingLost ? "every stream ended once" : "NOT every stream ended once")}"));
        foreach (var p in r.Problems)
        {
            output.WriteLine("    " + p);
        }
    }

    private static Process StartWorker(SoakBenchOptions o, FolioClientOptions run, string modelPath, string name, TextWriter output)
    {
        var psi = new ProcessStartInfo("dotnet", [o.WorkerDll]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["Folio__RabbitMq__Uri"] = run.RabbitMqUri;
        psi.Environment["Folio__Redis__Configuration"] = run.RedisConfiguration;
        psi.Environment["Folio__RabbitMq__RequestQueue"] = run.RequestQueue;
        psi.Environment["Folio__RabbitMq__CancelExchange"] = run.CancelExchange;
        psi.Environment["Folio__Redis__StreamPrefix"] = run.StreamPrefix;
        psi.Environment["Folio__Model__Path"] = modelPath;
        psi.Environment["Folio__Engine__MaxNumSeqs"] = o.MaxNumSeqs.ToString(CultureInfo.InvariantCulture);
        psi.Environment["Folio__Engine__Threads"] = o.Threads.ToString(CultureInfo.InvariantCulture);
        psi.Environment["Folio__Engine__KvCacheMemory"] = o.KvCacheMemory;
        psi.Environment["Folio__Worker__HttpPort"] = "-1";
        psi.Environment["Folio__Worker__Name"] = name;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + o.WorkerDll);
        // Keep the pipes drained; pass on what the worker warns about.
        p.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } l) output.WriteLine($"  [worker] {l}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } l) output.WriteLine($"  [worker] {l}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private sealed record MemorySamples(long RssStart, long RssEnd, long RssPeak, long RedisPeak);

    /// <summary>The worker's resident memory and Redis's used_memory every interval until cancelled.</summary>
    private static async Task<MemorySamples> SampleAsync(Process worker, IServer server, SoakStreamReader reader, SoakBenchOptions o, CancellationToken ct)
    {
        long rssStart = 0, rssEnd = 0, rssPeak = 0, redisPeak = 0;
        while (true)
        {
            long rss = ResidentBytes(worker);
            if (rss > 0)
            {
                rssEnd = rss;
                rssPeak = Math.Max(rssPeak, rss);
                if (rssStart == 0 && reader.Completed >= o.Requests / 10)
                {
                    rssStart = rss;
                }
            }

            try
            {
                redisPeak = Math.Max(redisPeak, await UsedMemoryAsync(server).ConfigureAwait(false));
                await Task.Delay(o.SampleInterval, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return new MemorySamples(rssStart == 0 ? rssEnd : rssStart, rssEnd, rssPeak, redisPeak);
            }
        }
    }

    /// <summary>VmRSS from /proc (Linux); 0 where there is none or the process is gone.</summary>
    private static long ResidentBytes(Process p)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{p.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
        }

        return 0;
    }

    private static async Task<long> UsedMemoryAsync(IServer server)
    {
        var info = await server.InfoAsync("memory").ConfigureAwait(false);
        return long.Parse(info.SelectMany(g => g).First(kv => kv.Key == "used_memory").Value, CultureInfo.InvariantCulture);
    }

    private static async Task<(uint DeadLettered, uint Left)> QueueCountsAsync(FolioClientOptions run, CancellationToken ct)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(run.RabbitMqUri) }.CreateConnectionAsync(ct).ConfigureAwait(false);
        await using var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
        uint dead = (await ch.QueueDeclarePassiveAsync(run.RequestQueue + WireNames.ErrorQueueSuffix, ct).ConfigureAwait(false)).MessageCount;
        uint left = (await ch.QueueDeclarePassiveAsync(run.RequestQueue, ct).ConfigureAwait(false)).MessageCount;
        return (dead, left);
    }

    /// <summary>Leaves the servers as they were: the run's queues, exchanges and keys go.</summary>
    private static async Task CleanUpAsync(FolioClientOptions run, ConnectionMultiplexer redis, IServer server, TextWriter output)
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(run.RabbitMqUri) }.CreateConnectionAsync().ConfigureAwait(false);
            await using var ch = await connection.CreateChannelAsync().ConfigureAwait(false);
            await ch.QueueDeleteAsync(run.RequestQueue).ConfigureAwait(false);
            await ch.QueueDeleteAsync(run.RequestQueue + WireNames.ErrorQueueSuffix).ConfigureAwait(false);
            await ch.ExchangeDeleteAsync(run.RequestQueue).ConfigureAwait(false);
            await ch.ExchangeDeleteAsync(run.CancelExchange).ConfigureAwait(false);
            var db = redis.GetDatabase();
            var keys = new List<RedisKey>();
            await foreach (var key in server.KeysAsync(pattern: run.StreamPrefix + "*", pageSize: 1000).ConfigureAwait(false))
            {
                keys.Add(key);
                if (keys.Count == 1000)
                {
                    await db.KeyDeleteAsync([.. keys]).ConfigureAwait(false);
                    keys.Clear();
                }
            }

            if (keys.Count > 0)
            {
                await db.KeyDeleteAsync([.. keys]).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.RabbitMQClientException or RabbitMQ.Client.Exceptions.OperationInterruptedException or RedisException)
        {
            output.WriteLine("bench soak: could not clean up the run's queues and keys: " + e.Message);
        }
    }
}
