using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
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
public sealed class BenchQueueCommand : ICliCommand
{
    /// <summary>Concurrent publishing connections of the queue run.</summary>
    private const int Publishers = 8;

    public string Name => "bench queue";

    public string Summary => "queue path (RabbitMQ + Redis, worker processes) against the in-process engine";

    public string Usage => """
        usage: folio bench queue [options]
          --model PATH           demo, a .gguf file or a Hugging Face folder (default demo)
          --requests N           requests per run (default 32)
          --prompt-tokens N      prompt length, random token ids (default 32)
          --max-tokens N         tokens generated per request, EOS ignored (default 32)
          --max-num-seqs N       sequences per step, in-process and per worker (default 16)
          --threads N            compute threads in all, split between workers (default: all cores)
          --kv-cache-memory S    KV budget per engine (default 256MiB)
          --workers LIST         worker counts to run, e.g. 1,2 (default 1,2)
          --repeat N             alternate the runs N times and summarize medians (default 1; a busy machine wants 3+)
          --worker-dll PATH      the built worker (default: FOLIO_WORKER_DLL, else src/Folio.Worker/bin/...)
        """ + "\n" + QueueConnectionArgs.Usage;

    public async Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        string modelPath = args.String("model") ?? "demo";
        int requests = args.Int("requests", 32);
        int promptTokens = args.Int("prompt-tokens", 32);
        int maxTokens = args.Int("max-tokens", 32);
        int maxNumSeqs = args.Int("max-num-seqs", 16);
        int threads = args.Int("threads", Environment.ProcessorCount);
        string kv = args.String("kv-cache-memory") ?? "256MiB";
        int[] workerCounts = args.IntList("workers") ?? [1, 2];
        string? workerDll = args.String("worker-dll");
        int repeat = args.Int("repeat", 1);
        var connection = QueueConnectionArgs.Read(args);
        args.RejectUnknown();
        if (requests < 1 || promptTokens < 1 || maxTokens < 1 || maxNumSeqs < 1 || threads < 1 || workerCounts.Any(w => w < 1))
        {
            throw new CliUsageException("--requests, --prompt-tokens, --max-tokens, --max-num-seqs, --threads and --workers must be >= 1");
        }

        workerDll ??= FindWorkerDll();
        if (!ByteSize.TryParse(kv, out long kvBytes))
        {
            throw new CliUsageException($"--kv-cache-memory: '{kv}' is not a size");
        }

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
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench queue: model {modelPath}, {requests} requests x ({promptTokens} prompt + {maxTokens} generated tokens), max_num_seqs {maxNumSeqs}, {threads} threads in all"));

        // This process tiers its JIT (the worker does not: see its project file), so its first
        // runs would be measured half-compiled: the in-process engine, and on the queue side the
        // publishers and the reader, which share the cores with the worker. One untimed run of
        // each first.
        Print("in-process (untimed)", RunInProcess(model, warmup, workload, maxNumSeqs, threads, kvBytes), null);
        Print("queue (untimed)", await RunQueueAsync(connection, workerDll, modelPath, warmup, workload, workerCounts[0], maxNumSeqs, Math.Max(1, threads / workerCounts[0]), kv, cancellationToken), null);
        var ratios = workerCounts.ToDictionary(w => w, _ => new List<(double Ratio, double P50, double P99)>());
        for (int rep = 1; rep <= Math.Max(1, repeat); rep++)
        {
            // Alternate the two paths so that a change in the machine's load hits both alike.
            var inProcess = RunInProcess(model, warmup, workload, maxNumSeqs, threads, kvBytes);
            Print("in-process engine", inProcess, null);
            foreach (int w in workerCounts)
            {
                var queued = await RunQueueAsync(connection, workerDll, modelPath, warmup, workload, w, maxNumSeqs, Math.Max(1, threads / w), kv, cancellationToken);
                Print($"queue, {w} worker{(w > 1 ? "s" : string.Empty)}", queued, inProcess);
                ratios[w].Add((queued.TokensPerSecond / inProcess.TokensPerSecond, Percentile(queued.TtftMs, 0.5) - Percentile(inProcess.TtftMs, 0.5), Percentile(queued.TtftMs, 0.99) - Percentile(inProcess.TtftMs, 0.99)));
            }
        }

        if (repeat > 1)
        {
            foreach (var (w, list) in ratios)
            {
                double Median(IEnumerable<double> v) => Percentile([.. v], 0.5);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median of {list.Count}, {w} worker(s): throughput ratio {Median(list.Select(x => x.Ratio)):F3}, added TTFT p50 {Median(list.Select(x => x.P50)):+0.0;-0.0} ms, p99 {Median(list.Select(x => x.P99)):+0.0;-0.0} ms"));
            }
        }

        return 0;
    }

    private sealed record RunResult(double Seconds, long Tokens, double[] TtftMs)
    {
        public double TokensPerSecond => Tokens / Seconds;
    }

    private static void Print(string label, RunResult r, RunResult? baseline)
    {
        double p50 = Percentile(r.TtftMs, 0.5), p99 = Percentile(r.TtftMs, 0.99);
        string line = string.Create(CultureInfo.InvariantCulture, $"  {label,-22} {r.TokensPerSecond,9:F1} tok/s  {r.Seconds,7:F2} s  TTFT p50 {p50,8:F1} ms  p99 {p99,8:F1} ms");
        if (baseline is not null)
        {
            line += string.Create(CultureInfo.InvariantCulture, $"  | throughput ratio {r.TokensPerSecond / baseline.TokensPerSecond:F3}, added TTFT p50 {p50 - Percentile(baseline.TtftMs, 0.5):+0.0;-0.0} ms, p99 {p99 - Percentile(baseline.TtftMs, 0.99):+0.0;-0.0} ms");
        }

        Console.WriteLine(line);
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
        using var engine = new LlmEngine(runner, model.Tokenizer, new EngineOptions { MaxNumSeqs = maxNumSeqs, Policy = SchedulingPolicy.Priority }, sink);
        engine.Start();

        // Warm-up (JIT, first touch of the KV pool), not timed.
        foreach (var w in warmup)
        {
            engine.AddRequest(new Folio.Engine.EngineRequest(w.RequestId, w.PromptTokenIds!, w.ToSamplingParams()) { Priority = w.Priority });
        }

        DrainUntil(sink, warmup.Count, null, null);

        var first = new ConcurrentDictionary<string, long>();
        long t0 = Stopwatch.GetTimestamp();
        foreach (var r in workload)
        {
            engine.AddRequest(new Folio.Engine.EngineRequest(r.RequestId, r.PromptTokenIds!, r.ToSamplingParams()) { Priority = r.Priority });
        }

        long tokens = DrainUntil(sink, workload.Count, first, null);
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return new RunResult(seconds, tokens, first.Values.Select(t => Stopwatch.GetElapsedTime(t0, t).TotalMilliseconds).ToArray());
    }

    private static long DrainUntil(ChannelOutputSink sink, int finishedWanted, ConcurrentDictionary<string, long>? firstToken, object? unused)
    {
        _ = unused;
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
                    firstToken?.TryAdd(o.RequestId, now);
                }

                if (o.Finished)
                {
                    finished++;
                }
            }
        }

        return tokens;
    }

    private static async Task<RunResult> RunQueueAsync(FolioClientOptions baseOptions, string workerDll, string modelPath, List<GenerationRequest> warmup, List<GenerationRequest> workload, int workers, int maxNumSeqs, int threadsPerWorker, string kv, CancellationToken ct)
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
                procs.Add(StartWorker(workerDll, options, baseOptions, modelPath, $"{prefix}-w{i}", maxNumSeqs, threadsPerWorker, kv));
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

            await DeleteQueuesAsync(baseOptions.RabbitMqUri, options);
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
    private static async Task DeleteQueuesAsync(string uri, FolioClientOptions o)
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
            Console.Error.WriteLine("bench queue: could not delete the run's queues: " + e.Message);
        }
    }

    /// <summary>Reads every stream of the workload until each has ended; returns the tokens seen.</summary>
    private static async Task<long> ReadAllAsync(FolioClientOptions o, List<GenerationRequest> workload, ConcurrentDictionary<string, long> firstToken, CancellationToken ct)
    {
        var config = StackExchange.Redis.ConfigurationOptions.Parse(o.RedisConfiguration);
        config.AsyncTimeout = config.SyncTimeout = 30_000;
        await using var mux = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(config);
        var db = mux.GetDatabase();
        var last = workload.ToDictionary(r => o.StreamPrefix + r.RequestId, _ => "0-0", StringComparer.Ordinal);
        long tokens = 0;
        while (last.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var keys = last.Keys.ToList();
            var args = new List<object> { "COUNT", 1000, "BLOCK", 2000, "STREAMS" };
            args.AddRange(keys);
            args.AddRange(keys.Select(k => (object)last[k]));
            var result = await db.ExecuteAsync("XREAD", args);
            if (result.IsNull)
            {
                continue;
            }

            long now = Stopwatch.GetTimestamp();
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
        }

        return tokens;
    }

    private static Process StartWorker(string dll, FolioClientOptions o, FolioClientOptions connection, string modelPath, string name, int maxNumSeqs, int threads, string kv)
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
        p.OutputDataReceived += (_, e) => { if (e.Data is { } l && (l.Contains("fail", StringComparison.Ordinal) || l.Contains("crit", StringComparison.Ordinal))) Console.Error.WriteLine($"[{name}] {l}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) Console.Error.WriteLine($"[{name}] {l}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static string FindWorkerDll()
    {
        if (Environment.GetEnvironmentVariable("FOLIO_WORKER_DLL") is { Length: > 0 } env)
        {
            return env;
        }

        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            string bin = Path.Combine(d.FullName, "src", "Folio.Worker");
            if (Directory.Exists(bin))
            {
                var found = Directory.EnumerateFiles(bin, "Folio.Worker.dll", SearchOption.AllDirectories)
                    .Where(f => f.Contains("/bin", StringComparison.Ordinal) && !f.Contains("/obj", StringComparison.Ordinal) && File.Exists(Path.ChangeExtension(f, ".runtimeconfig.json")))
                    .OrderByDescending(f => f.Contains("/Release/", StringComparison.Ordinal))
                    .ThenByDescending(File.GetLastWriteTimeUtc)
                    .FirstOrDefault();
                if (found is not null)
                {
                    return found;
                }
            }
        }

        throw new CliUsageException("cannot find a built worker: build src/Folio.Worker (dotnet build -c Release) or pass --worker-dll / FOLIO_WORKER_DLL");
    }
}
