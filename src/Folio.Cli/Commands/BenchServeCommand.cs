using System.CommandLine;
using System.Globalization;
using Folio.Cli.Benchmarks;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;

namespace Folio.Cli.Commands;

/// <summary>
/// `folio bench serve`: the gateway path against publishing to the queue directly, at several
/// Poisson request rates (vLLM's serving benchmark), on one worker and one gateway it starts itself.
/// Prints throughput, TTFT, TPOT and ITL percentiles per path and rate, the throughput ratio and the
/// TTFT the gateway adds, and plots throughput and p99 TTFT against the rate.
/// </summary>
public sealed class BenchServeCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH|demo", "demo, a .gguf file or a Hugging Face folder", defaultValue: "demo");
    private readonly FolioOption<string?> _rates = CliOptions.String("--rates", "LIST", "request rates per second, comma-separated; inf sends all at once", "1,2,4,8");
    private readonly FolioOption<int> _requests = CliOptions.Int("--requests", "N", "requests per rate and path", 48, min: 1);
    private readonly FolioOption<int> _promptTokens = CliOptions.Int("--prompt-tokens", "N", "mean prompt length (uniform within +-50%), random token ids", 64, min: 1);
    private readonly FolioOption<int> _maxTokens = CliOptions.Int("--max-tokens", "N", "mean output length (uniform within +-50%), EOS ignored", 64, min: 1);
    private readonly FolioOption<int> _maxNumSeqs = SharedOptions.MaxNumSeqs(16, "sequences per step in the worker");
    private readonly FolioOption<int?> _threads = SharedOptions.Threads("the worker's compute threads");
    private readonly FolioOption<long> _kvCacheMemory = SharedOptions.KvCacheMemory("512MiB", "the worker's KV cache budget");
    private readonly FolioOption<string?> _plot = CliOptions.String("--plot", "FILE.png", "where to write the plot of throughput and p99 TTFT against the rate", "bench-serve.png");
    private readonly FolioOption<string?> _workerDll = CliOptions.String("--worker-dll", "PATH", "the built worker", defaultText: "$FOLIO_WORKER_DLL, else src/Folio.Worker/bin/...");
    private readonly FolioOption<string?> _gatewayDll = CliOptions.String("--gateway-dll", "PATH", "the built gateway", defaultText: "$FOLIO_GATEWAY_DLL, else src/Folio.Gateway/bin/...");
    private readonly QueueConnectionOptions _connection = new();

    public BenchServeCommand()
        : base("bench serve", "serving through the OpenAI-compatible gateway against publishing to the queue directly, at several request rates")
    {
        Add(_model, _rates, _requests, _promptTokens, _maxTokens, _maxNumSeqs, _threads, _kvCacheMemory, _plot, _workerDll, _gatewayDll);
        Add(_connection);
    }

    public override IReadOnlyList<string> Notes =>
        ["Needs RabbitMQ and Redis (see Queue connection) and a built worker and gateway; it starts one of each on queue names of its own. Both paths meet the same workload (same arrivals, lengths and seeds)."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string modelPath = parse.GetValue(_model)!;
        double[] rates = ParseRates(parse.GetValue(_rates)!);
        int requests = parse.GetValue(_requests);
        int promptTokens = parse.GetValue(_promptTokens);
        int maxTokens = parse.GetValue(_maxTokens);
        int maxNumSeqs = parse.GetValue(_maxNumSeqs);
        int threads = SharedOptions.ThreadsOrAllCores(parse.GetValue(_threads));
        string kv = parse.GetResult(_kvCacheMemory) is { Tokens: [.., var last] } ? last.Value : "512MiB";
        string plotPath = parse.GetValue(_plot)!;
        var connection = _connection.Read(parse);
        string workerDll = parse.GetValue(_workerDll) ?? BuiltProjects.Find("Folio.Worker", "FOLIO_WORKER_DLL") ?? throw Usage("cannot find a built Folio.Worker: build src/Folio.Worker (dotnet build -c Release) or pass --worker-dll / FOLIO_WORKER_DLL");
        string gatewayDll = parse.GetValue(_gatewayDll) ?? BuiltProjects.Find("Folio.Gateway", "FOLIO_GATEWAY_DLL") ?? throw Usage("cannot find a built Folio.Gateway: build src/Folio.Gateway (dotnet build -c Release) or pass --gateway-dll / FOLIO_GATEWAY_DLL");
        int vocab;
        using (var model = Folio.Models.Loading.ModelLoader.Load(modelPath))
        {
            vocab = model.Config.VocabSize;
        }

        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench serve: model {modelPath}, {requests} requests per rate and path, prompt ~{promptTokens} and output ~{maxTokens} tokens (+-50%), max_num_seqs {maxNumSeqs}, {threads} worker threads, rates {string.Join(", ", rates.Select(Rate))} req/s"));
        return await context.WithProgressAsync("bench serve", async progress =>
        {
            var runs = progress.AddTask("runs", 1 + (2 * rates.Length));
            await using var bench = new ServeBench(new ServeBenchSetup(connection, workerDll, gatewayDll, modelPath, maxNumSeqs, threads, kv), progress);
            await bench.StartAsync(vocab, cancellationToken);
            runs.Advance(description: "rates");
            var results = new List<ServeBenchResult>();
            progress.WriteLine($"  {"path",-15} {"rate",5} {"tok/s",8} {"req/s",6}  {"TTFT p50/p90/p99 ms",-22} {"TPOT p50/p90/p99 ms",-22} {"ITL p50/p90/p99 ms",-22}");
            for (int i = 0; i < rates.Length; i++)
            {
                var workload = ServeBenchWorkload.Draw(requests, rates[i], promptTokens, maxTokens, vocab, 1 + i);
                var direct = await bench.RunDirectAsync(workload, rates[i], cancellationToken);
                Print(progress, direct);
                runs.Advance();
                var gateway = await bench.RunGatewayAsync(workload, rates[i], cancellationToken);
                Print(progress, gateway);
                runs.Advance();
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  rate {Rate(rates[i])}: gateway/direct throughput {gateway.TokensPerSecond / direct.TokensPerSecond:F3}, added TTFT p50 {gateway.TtftMs.P50 - direct.TtftMs.P50:+0.0;-0.0} ms, p99 {gateway.TtftMs.P99 - direct.TtftMs.P99:+0.0;-0.0} ms"));
                results.Add(direct);
                results.Add(gateway);
            }

            runs.Complete();
            if (results.Any(r => r.Failed > 0))
            {
                progress.Note("bench serve: some requests failed (counted out of the figures): " + string.Join(", ", results.Where(r => r.Failed > 0).Select(r => $"{r.Path} at {Rate(r.Rate)}: {r.Failed}")));
            }

            if (results.Count(r => double.IsFinite(r.Rate)) >= 2)
            {
                ServeBenchPlot.Write(results, $"folio bench serve: {Path.GetFileName(modelPath)}, {requests} requests per rate", plotPath);
                progress.WriteLine("plot: " + Path.GetFullPath(plotPath));
            }

            return ExitCodes.Success;
        });
    }

    private static string Rate(double r) => double.IsFinite(r) ? r.ToString("0.##", CultureInfo.InvariantCulture) : "inf";

    private static void Print(Folio.Cli.Progress.IProgressDisplay progress, ServeBenchResult r)
    {
        static string P(Percentiles p) => string.Create(CultureInfo.InvariantCulture, $"{p.P50:F1}/{p.P90:F1}/{p.P99:F1}");
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.Path,-15} {Rate(r.Rate),5} {r.TokensPerSecond,8:F1} {r.RequestsPerSecond,6:F2}  {P(r.TtftMs),-22} {P(r.TpotMs),-22} {P(r.ItlMs),-22}"));
    }

    private static double[] ParseRates(string text)
    {
        var rates = new List<double>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part is "inf" or "Infinity")
            {
                rates.Add(double.PositiveInfinity);
            }
            else if (double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && r > 0 && double.IsFinite(r))
            {
                rates.Add(r);
            }
            else
            {
                throw Usage($"--rates takes request rates per second above 0 (or inf), comma-separated, e.g. 1,2,4,inf; got an entry '{part}'");
            }
        }

        return rates.Count > 0 ? [.. rates] : throw Usage("--rates needs at least one rate, e.g. 1,2,4");
    }
}
