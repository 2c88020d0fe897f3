using System.CommandLine;
using Folio.Cli.Benchmarks;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;

namespace Folio.Cli.Commands;

/// <summary>`folio bench soak`: a large backlog through one worker process; throughput, memory, and nothing lost.</summary>
public sealed class BenchSoakCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("tiny|demo|PATH", "tiny (a small synthetic GGUF written for the run), demo, a .gguf file or a Hugging Face folder", defaultValue: "tiny");
    private readonly FolioOption<int> _requests = CliOptions.Int("--requests", "N", "requests in the backlog", 10_000, min: 1);
    private readonly FolioOption<int> _maxTokens = CliOptions.Int("--max-tokens", "N", "tokens generated per request, EOS ignored", 4, min: 1);
    private readonly FolioOption<int> _maxNumSeqs = SharedOptions.MaxNumSeqs(32, "sequences per step of the worker");
    private readonly FolioOption<int> _threads = CliOptions.Int("--threads", "N", "compute threads of the worker", 1, min: 1);
    private readonly FolioOption<string?> _workerDll = CliOptions.String("--worker-dll", "PATH", "the built worker", defaultText: "$FOLIO_WORKER_DLL, else src/Folio.Worker/bin/...");
    private readonly QueueConnectionOptions _connection = new();

    public BenchSoakCommand()
        : base("bench soak", "a backlog of requests through one worker: throughput, worker RSS growth, Redis memory, nothing lost")
    {
        Add(_model, _requests, _maxTokens, _maxNumSeqs, _threads, _workerDll);
        Add(_connection);
    }

    public override IReadOnlyList<string> Notes =>
        ["Publishes the whole backlog first, then starts one worker on it, and reads every stream as a client would. Exits with 1 unless every stream ended exactly once, well-formed, with nothing dead-lettered or left in the queue. The run has queues and keys of its own (--queue and --stream-prefix are not used) and deletes them at the end."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        var result = await SoakBench.RunAsync(new SoakBenchOptions
        {
            Connection = _connection.Read(parse),
            WorkerDll = parse.GetValue(_workerDll) ?? BuiltProjects.Find("Folio.Worker", "FOLIO_WORKER_DLL") ?? throw Usage("cannot find a built worker: build src/Folio.Worker (dotnet build -c Release) or pass --worker-dll / FOLIO_WORKER_DLL"),
            Model = parse.GetValue(_model)!,
            Requests = parse.GetValue(_requests),
            MaxTokens = parse.GetValue(_maxTokens),
            MaxNumSeqs = parse.GetValue(_maxNumSeqs),
            Threads = parse.GetValue(_threads),
        }, context.Out, cancellationToken);
        return result.NothingLost ? ExitCodes.Success : ExitCodes.Failure;
    }
}
