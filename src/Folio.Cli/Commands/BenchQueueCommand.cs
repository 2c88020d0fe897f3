using Folio.Cli.Benchmarks;
using Folio.Engine.Scheduling;
using Folio.Engine.Core;
using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Cli.Progress;
using Folio.Client;
using Folio.Contracts;
using Folio.Cpu;
using Folio.Engine.Kv;
using Folio.Engine;
using Folio.Models.Loading;
using RabbitMQ.Client;

namespace Folio.Cli.Commands;

/// <summary>
/// `folio bench queue`: the same workload through RabbitMQ + Redis (real worker processes) and
/// through the engine in this process, on the same model, machine and settings. Prints the
/// throughput ratio and the time to first token the queue path adds (p50, p99), for one worker and
/// for two.
/// </summary>
public sealed class BenchQueueCommand : FolioCommand
{
    /// <summary>Concurrent publishing connections of the queue run.</summary>
    private const int Publishers = 8;

    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH|demo", "demo, a .gguf file or a Hugging Face folder", defaultValue: "demo");
    private readonly FolioOption<int> _requests = CliOptions.Int("--requests", "N", "requests per run", 32, min: 1);
    private readonly FolioOption<int> _promptTokens = CliOptions.Int("--prompt-tokens", "N", "prompt length, random token ids", 32, min: 1);
    private readonly FolioOption<int> _maxTokens = CliOptions.Int("--max-tokens", "N", "tokens generated per request, EOS ignored", 32, min: 1);
    private readonly FolioOption<int> _maxNumSeqs = SharedOptions.MaxNumSeqs(16, "sequences per step, in-process and per worker");
    private readonly FolioOption<int?> _threads = SharedOptions.Threads("compute threads in all, split between workers");
    private readonly FolioOption<long> _kvCacheMemory = SharedOptions.KvCacheMemory("256MiB", "KV cache budget per engine");
    private readonly FolioOption<int[]?> _workers = CliOptions.IntList("--workers", "LIST", "worker counts to run", [1, 2], min: 1);
    private readonly FolioOption<int> _repeat = CliOptions.Int("--repeat", "N", "alternate the runs N times and summarize medians (a busy machine wants 3+)", 1, min: 1);
    private readonly FolioOption<string?> _workerDll = CliOptions.String("--worker-dll", "PATH", "the built worker", defaultText: "$FOLIO_WORKER_DLL, else src/Folio.Worker/bin/...");
    private readonly QueueConnectionOptions _connection = new();

    public BenchQueueCommand()
        : base("bench queue", "queue path (RabbitMQ + Redis, worker processes) against the in-process engine")
    {
        Add(_model, _requests, _promptTokens, _maxTokens, _maxNumSeqs, _threads, _kvCacheMemory, _workers, _repeat, _workerDll);
        Add(_connection);
    }

    public override IReadOnlyList<string> Notes =>
        ["Needs RabbitMQ and Redis (see Queue connection) and a built worker. Prints the throughput ratio and the time to first token the queue path adds (p50, p99), for each worker count."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string modelPath = parse.GetValue(_model)!;
        int requests = parse.GetValue(_requests);
        int promptTokens = parse.GetValue(_promptTokens);
        int maxTokens = parse.GetValue(_maxTokens);
        int maxNumSeqs = parse.GetValue(_maxNumSeqs);
        int threads = SharedOptions.ThreadsOrAllCores(parse.GetValue(_threads));
        long kvBytes = parse.GetValue(_kvCacheMemory);
        // The worker reads the size as written (its configuration parses the same spellings).
        string kv = parse.GetResult(_kvCacheMemory) is { Tokens: [.., var last] } ? last.Value : "256MiB";
        int[] workerCounts = parse.GetValue(_workers)!;
        int repeat = parse.GetValue(_repeat);
        var connection = _connection.Read(parse);
        string workerDll = parse.GetValue(_workerDll) ?? BuiltProjects.Find("Folio.Worker", "FOLIO_WORKER_DLL") ?? throw Usage("cannot find a built worker: build src/Folio.Worker (dotnet build -c Release) or pass --worker-dll / FOLIO_WORKER_DLL");

        using var model = ModelLoader.Load(modelPath);
        var rng = new Random(1234);
        var workload = Enumerable.Range(0, requests).Select(i => new GenerationRequest
        {
            RequestId = $"r{i}",
            PromptTokenIds = Enumerable.Range(0, promptTokens).Select(_ => rng.Next(model.Config.VocabSize)).ToArray(),
            MaxTokens = maxTokens,
            Temperature = 0.8,
            Seed = i,
            IgnoreEos = true,
        }).ToList();
        // The same untimed warm-up on both sides: a full batch of short requests, so that the code
        // paths of a wide prefill and wide decode steps have run (and been compiled) before timing.
        // A 4-token request or two (as before) left the worker's fresh process mostly unjitted,
        // while the in-process engine, in this long-lived process, was warm from the second run on.
        // Its prompts are other random tokens: sharing the workload's would let the prefix cache
        // skip the timed prefill.
        var warmRng = new Random(4321);
        var warmup = workload.Take(maxNumSeqs).Select((r, i) => r with
        {
            RequestId = $"warm-{i}",
            PromptTokenIds = Enumerable.Range(0, promptTokens).Select(_ => warmRng.Next(model.Config.VocabSize)).ToArray(),
            MaxTokens = Math.Min(r.MaxTokens, 8),
        }).ToList();
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench queue: model {modelPath}, {requests} requests x ({promptTokens} prompt + {maxTokens} generated tokens), max_num_seqs {maxNumSeqs}, {threads} threads in all"));
        return await context.WithProgressAsync("bench queue", async progress =>
        {
            var runs = progress.AddTask("runs", 2 + (repeat * (1 + workerCounts.Length)));

            // This process tiers its JIT (the worker does not: see its project file), so its first
            // runs would be measured half-compiled: the in-process engine, and on the queue side the
            // publishers and the reader, which share the cores with the worker. One untimed run of
            // each first.
            Print(progress, "in-process (untimed)", RunInProcess(model, warmup, workload, maxNumSeqs, threads, kvBytes), null);
            runs.Advance(description: "queue (untimed)");
            Print(progress, "queue (untimed)", await RunQueueAsync(progress, connection, workerDll, modelPath, warmup, workload, workerCounts[0], maxNumSeqs, Math.Max(1, threads / workerCounts[0]), kv, cancellationToken), null);
            runs.Advance();
            var ratios = workerCounts.ToDictionary(w => w, _ => new List<(double Ratio, double P50, double P99)>());
            for (int rep = 1; rep <= repeat; rep++)
            {
                // Alternate the two paths so that a change in the machine's load hits both alike.
                var inProcess = RunInProcess(model, warmup, workload, maxNumSeqs, threads, kvBytes);
                Print(progress, "in-process engine", inProcess, null);
                runs.Advance(description: $"round {rep}");
                foreach (int w in workerCounts)
                {
                    var queued = await RunQueueAsync(progress, connection, workerDll, modelPath, warmup, workload, w, maxNumSeqs, Math.Max(1, threads / w), kv, cancellationToken);
                    Print(progress, $"queue, {w} worker{(w > 1 ? "s" : string.Empty)}", queued, inProcess);
                    ratios[w].Add((queued.TokensPerSecond / inProcess.TokensPerSecond, Percentile(queued.TtftMs, 0.5) - Percentile(inProcess.TtftMs, 0.5), Percentile(queued.TtftMs, 0.99) - Percentile(inProcess.TtftMs, 0.99)));
                    runs.Advance();
                }
            }

            runs.Complete();
            if (repeat > 1)
            {
                foreach (var (w, list) in ratios)
                {
                    double Median(IEnumerable<double> v) => Percentile([.. v], 0.5);
                    progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median of {list.Count}, {w} worker(s): throughput ratio {Median(list.Select(x => x.Ratio)):F3}, added TTFT p50 {Median(list.Select(x => x.P50)):+0.0;-0.0} ms, p99 {Median(list.Select(x => x.P99)):+0.0;-0.0} ms"));
                }
            }

            return ExitCodes.Success;
        });
    }

    private sealed record RunResult(double Seconds, long Tokens, double[] TtftMs)
    {
        public double TokensPerSecond => Tokens / Seconds;
    }

    private static void Print(IProgressDisplay progress, string label, RunResult r, RunResult? baseline)
    {
        double p50 = Percentile(r.TtftMs, 0.5), p99 = Percentile(r.TtftMs, 0.99);
        string line = string.Create(CultureInfo.InvariantCulture, $"  {label,-22} {r.TokensPerSecond,9:F1} tok/s  {r.Seconds,7:F2} s  TTFT p50 {p50,8:F1} ms  p99 {p99,8:F1} ms");
        if (baseline is not null)
        {
            line += string.Create(CultureInfo.InvariantCulture, $"  | throughput ratio {r.TokensPerSecond / baseline.TokensPerSecond:F3}, added TTFT p50 {p50 - Percentile(baseline.TtftMs, 0.5):+0.0;-0.0} ms, p99 {p99 - Percentile(baseline.TtftMs, 0.99):+0.0;-0.0} ms");
        }

        progress.WriteLine(line);
    }

    private static double Percentile(double[] values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }

    private static RunResult RunInProcess(Folio.Models.LoadedModel model, List<GenerationRequest> warmup, List<GenerationRequest> workload, int maxNumSeqs, int threads, long kvBytes)
    {
        int blocks = KvCacheSizing.BlocksForBudget(model.Config, 16, kvBytes, "--kv-cache-memory");
        using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = blocks, BlockSize = 16, Threads = threads });
        var sink = new ChannelOutputSink();
        // The same scheduling policy the worker uses.
        using var engine = new LlmEngine(runner, model.Tokenizer, new EngineConfig { MaxNumSeqs = maxNumSeqs, Policy = SchedulingPolicy.Priority }, sink);
        engine.Start();

        // Warm-up (JIT, first touch of the KV pool), not timed.
        for (int i = 0; i < warmup.Count; i++)
        {
            engine.AddRequest(new EngineRequest(new RequestKey(-1 - i), warmup[i].PromptTokenIds!, warmup[i].ToSamplingParams()) { Priority = warmup[i].Priority });
        }

        DrainUntil(sink, warmup.Count, null);

        var first = new Dictionary<RequestKey, long>();
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < workload.Count; i++)
        {
            engine.AddRequest(new EngineRequest(new RequestKey(i), workload[i].PromptTokenIds!, workload[i].ToSamplingParams()) { Priority = workload[i].Priority });
        }

        long tokens = DrainUntil(sink, workload.Count, first);
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return new RunResult(seconds, tokens, first.Values.Select(t => Stopwatch.GetElapsedTime(t0, t).TotalMilliseconds).ToArray());
    }

    private static long DrainUntil(ChannelOutputSink sink, int finishedWanted, Dictionary<RequestKey, long>? firstToken)
    {
        int finished = 0;
        long tokens = 0;
        while (finished < finishedWanted)
        {
            if (!sink.Reader.TryRead(out var step))
            {
                sink.Reader.WaitToReadAsync().AsTask().Wait();
                continue;
            }

            long now = Stopwatch.GetTimestamp();
            foreach (var o in step)
            {
                if (o.TokenId is not null)
                {
                    tokens++;
                    firstToken?.TryAdd(o.Key, now);
                }

                if (o.Finished)
                {
                    finished++;
                }
            }
        }

        return tokens;
    }

    private static async Task<RunResult> RunQueueAsync(IProgressDisplay progress, FolioClientOptions baseOptions, string workerDll, string modelPath, List<GenerationRequest> warmup, List<GenerationRequest> workload, int workers, int maxNumSeqs, int threadsPerWorker, string kv, CancellationToken ct)
    {
        string prefix = "bench" + Guid.NewGuid().ToString("N")[..8];
        var options = new FolioClientOptions
        {
            RabbitMqUri = baseOptions.RabbitMqUri,
            RedisConfiguration = baseOptions.RedisConfiguration,
            RequestQueue = prefix + ".requests",
            CancelExchange = prefix + ".cancel",
            StreamPrefix = prefix + ":stream:",
            BlockInterval = TimeSpan.FromSeconds(2),
        };
        var procs = new List<Process>();
        try
        {
            for (int i = 0; i < workers; i++)
            {
                procs.Add(StartWorker(progress, workerDll, options, baseOptions, modelPath, $"{prefix}-w{i}", maxNumSeqs, threadsPerWorker, kv));
            }

            await using var client = await FolioClient.ConnectAsync(options, ct);
            // Every worker consuming before the warm-up goes out: otherwise the first one up takes
            // all of it (its prefetch is a full batch) and the others meet the timed run cold.
            await WaitForConsumersAsync(baseOptions.RabbitMqUri, options.RequestQueue, workers, procs, ct);
            // The same warm-up as the in-process run (untimed), spread over the workers.
            await Task.WhenAll(warmup.Select(w => client.SubmitAsync(w, ct)));
            // Read it with the timed run's reader: it shares this machine's two cores with the
            // worker, and cold (JIT) it took 10-30% of a core during the timed run. It throws on
            // an error entry.
            await ReadAllAsync(options, warmup, new ConcurrentDictionary<string, long>(), ct);

            // One reader for all streams (a single XREAD BLOCK over every key), to keep what the
            // measuring costs small: on a machine shared with the worker it is not nothing (see
            // docs/benchmarks.md, "Queue path").
            var firstToken = new ConcurrentDictionary<string, long>();
            // Several publishers, as independent users would be: one FolioClient publishes one
            // message at a time and waits for its confirm (a quorum queue commits each to disk
            // first), which alone spread 32 requests over ~130 ms here, while the in-process run
            // adds them all at once.
            var publishers = new List<FolioClient> { client };
            try
            {
                for (int i = 1; i < Math.Min(Publishers, workload.Count); i++)
                {
                    publishers.Add(await FolioClient.ConnectAsync(options, ct));
                }

                long t0 = Stopwatch.GetTimestamp();
                var reader = Task.Run(() => ReadAllAsync(options, workload, firstToken, ct), ct);
                // All at once, as the in-process run adds them (each publish still waits for its confirm).
                await Task.WhenAll(workload.Select((r, i) => publishers[i % publishers.Count].SubmitAsync(r, ct)));

                long tokens = await reader;
                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                return new RunResult(seconds, tokens, firstToken.Values.Select(t => Stopwatch.GetElapsedTime(t0, t).TotalMilliseconds).ToArray());
            }
            finally
            {
                foreach (var p in publishers.Skip(1))
                {
                    await p.DisposeAsync();
                }
            }
        }
        finally
        {
            foreach (var p in procs)
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }

                p.WaitForExit(5000);
                p.Dispose();
            }

            await DeleteQueuesAsync(progress, baseOptions.RabbitMqUri, options);
        }
    }

    private static async Task WaitForConsumersAsync(string uri, string queue, int workers, List<Process> procs, CancellationToken ct)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(uri) }.CreateConnectionAsync(ct);
        var deadline = Stopwatch.GetTimestamp() + (120 * Stopwatch.Frequency);
        while (true)
        {
            if (procs.FirstOrDefault(p => p.HasExited) is { } dead)
            {
                throw new InvalidOperationException($"a worker exited with code {dead.ExitCode} before consuming (see its output above)");
            }

            uint consumers = 0;
            try
            {
                // A passive declare fails (and closes the channel) while no worker has declared the queue yet.
                await using var ch = await connection.CreateChannelAsync(cancellationToken: ct);
                consumers = (await ch.QueueDeclarePassiveAsync(queue, ct)).ConsumerCount;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
            }

            if (consumers >= workers)
            {
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"only {consumers} of {workers} workers consume from {queue} after 120 s");
            }

            await Task.Delay(100, ct);
        }
    }

    /// <summary>Leaves the broker as it was: the run's queues and exchanges go.</summary>
    private static async Task DeleteQueuesAsync(IProgressDisplay progress, string uri, FolioClientOptions o)
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(uri) }.CreateConnectionAsync();
            await using var ch = await connection.CreateChannelAsync();
            await ch.QueueDeleteAsync(o.RequestQueue);
            await ch.QueueDeleteAsync(o.RequestQueue + WireNames.ErrorQueueSuffix);
            await ch.ExchangeDeleteAsync(o.RequestQueue);
            await ch.ExchangeDeleteAsync(o.CancelExchange);
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.RabbitMQClientException or RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            progress.Note("bench queue: could not delete the run's queues: " + e.Message);
        }
    }

    /// <summary>Reads every stream of the workload until each has ended; returns the tokens seen.</summary>
    private static async Task<long> ReadAllAsync(FolioClientOptions o, List<GenerationRequest> workload, ConcurrentDictionary<string, long> firstToken, CancellationToken ct)
    {
        var config = StackExchange.Redis.ConfigurationOptions.Parse(o.RedisConfiguration);
        config.AsyncTimeout = config.SyncTimeout = 30_000;
        await using var mux = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(config);
        var db = mux.GetDatabase();
        // On a Redis Cluster one XREAD may only name keys of one hash slot: read per slot, polling.
        bool cluster = mux.GetServers().Any(s => s.ServerType == StackExchange.Redis.ServerType.Cluster);
        var last = workload.ToDictionary(r => StreamKeyNames.Stream(o.StreamPrefix, r.RequestId), _ => "0-0", StringComparer.Ordinal);
        long tokens = 0;
        while (last.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            StackExchange.Redis.RedisResult[] results;
            if (cluster)
            {
                var reads = last.Keys.GroupBy(k => mux.HashSlot(k)).Select(g =>
                {
                    var slotArgs = new List<object> { "COUNT", 1000, "STREAMS" };
                    slotArgs.AddRange(g.Select(k => (object)(StackExchange.Redis.RedisKey)k));
                    slotArgs.AddRange(g.Select(k => (object)last[k]));
                    return db.ExecuteAsync("XREAD", slotArgs);
                }).ToList();
                results = (await Task.WhenAll(reads)).Where(r => !r.IsNull).ToArray();
                if (results.Length == 0)
                {
                    await Task.Delay(2, ct);
                    continue;
                }
            }
            else
            {
                var keys = last.Keys.ToList();
                var args = new List<object> { "COUNT", 1000, "BLOCK", 2000, "STREAMS" };
                args.AddRange(keys);
                args.AddRange(keys.Select(k => (object)last[k]));
                var result = await db.ExecuteAsync("XREAD", args);
                if (result.IsNull)
                {
                    continue;
                }

                results = [result];
            }

            long now = Stopwatch.GetTimestamp();
            foreach (var result in results)
            {
                tokens += ReadEntries(result, last, firstToken, now);
            }
        }

        return tokens;
    }

    /// <summary>One XREAD reply: counts its token entries, notes first tokens, drops ended streams from <paramref name="last"/>.</summary>
    private static long ReadEntries(StackExchange.Redis.RedisResult result, Dictionary<string, string> last, ConcurrentDictionary<string, long> firstToken, long now)
    {
        long tokens = 0;
        var top = (StackExchange.Redis.RedisResult[])result!;
        var perStream = new List<(string Key, StackExchange.Redis.RedisResult Entries)>();
        if (result.Resp3Type == StackExchange.Redis.ResultType.Map)
        {
            for (int i = 0; i + 1 < top.Length; i += 2)
            {
                perStream.Add(((string)top[i]!, top[i + 1]));
            }
        }
        else
        {
            foreach (var st in top)
            {
                var pair = (StackExchange.Redis.RedisResult[])st!;
                perStream.Add(((string)pair[0]!, pair[1]));
            }
        }

        foreach (var (key, entries) in perStream)
        {
            foreach (var item in (StackExchange.Redis.RedisResult[])entries!)
            {
                var pair = (StackExchange.Redis.RedisResult[])item!;
                var flat = (StackExchange.Redis.RedisResult[])pair[1]!;
                string type = (string)flat[1]!;
                last[key] = (string)pair[0]!;
                if (type == EntryTypes.Token)
                {
                    tokens++;
                    firstToken.TryAdd(key, now);
                }
                else if (type == EntryTypes.Error)
                {
                    throw new InvalidOperationException($"{key}: the worker answered with an error entry");
                }

                if (EntryTypes.IsTerminal(type))
                {
                    last.Remove(key);
                    break;
                }
            }
        }

        return tokens;
    }

    private static Process StartWorker(IProgressDisplay progress, string dll, FolioClientOptions o, FolioClientOptions connection, string modelPath, string name, int maxNumSeqs, int threads, string kv)
    {
        var psi = new ProcessStartInfo("dotnet", [dll]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["Folio__RabbitMq__Uri"] = connection.RabbitMqUri;
        psi.Environment["Folio__Redis__Configuration"] = connection.RedisConfiguration;
        psi.Environment["Folio__RabbitMq__RequestQueue"] = o.RequestQueue;
        psi.Environment["Folio__RabbitMq__CancelExchange"] = o.CancelExchange;
        psi.Environment["Folio__Redis__StreamPrefix"] = o.StreamPrefix;
        psi.Environment["Folio__Model__Path"] = modelPath;
        psi.Environment["Folio__Engine__MaxNumSeqs"] = maxNumSeqs.ToString(CultureInfo.InvariantCulture);
        psi.Environment["Folio__Engine__Threads"] = threads.ToString(CultureInfo.InvariantCulture);
        psi.Environment["Folio__Engine__KvCacheMemory"] = kv;
        psi.Environment["Folio__Worker__HttpPort"] = "0";
        psi.Environment["Folio__Worker__Name"] = name;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + dll);
        // Keep the pipes drained; show only errors.
        p.OutputDataReceived += (_, e) => { if (e.Data is { } l && (l.Contains("fail", StringComparison.Ordinal) || l.Contains("crit", StringComparison.Ordinal))) progress.Note($"[{name}] {l}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) progress.Note($"[{name}] {l}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}
