using System.CommandLine;
using Folio.Cli.Benchmarks;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Engine.Constraints;
using Folio.Models.Loading;

namespace Folio.Cli.Commands;

/// <summary>`folio bench structured`: schema compile time and per-token mask time on real vocabularies.</summary>
public sealed class BenchStructuredCommand : FolioCommand
{
    private readonly FolioOption<string[]> _tokenizers = CliOptions.Repeated("--tokenizer", "demo|llama3|FOLDER", "a tokenizer to measure (repeatable; default: demo and llama3)");
    private readonly FolioOption<string?> _schema = CliOptions.String("--schema", "FILE", "a JSON schema file", defaultText: "a built-in nested schema");
    private readonly FolioOption<int> _sequences = CliOptions.Int("--sequences", "N", "sequences generated per tokenizer", 32, min: 1);
    private readonly FolioOption<int> _maxTokens = CliOptions.Int("--max-tokens", "N", "tokens per sequence at most", 256, min: 1);
    private readonly FolioOption<int> _compileRuns = CliOptions.Int("--compile-runs", "N", "fresh compiles timed (the median is reported)", 5, min: 1);
    private readonly FolioOption<int> _batch = CliOptions.Int("--batch", "N", "sequences in the parallel batch-step measurement", 32, min: 1);
    private readonly FolioOption<int> _seed = CliOptions.Int("--seed", "N", "workload seed", 1);
    private readonly FolioOption<string?> _engineModel = SharedOptions.Model("PATH|demo|none", "model for the end-to-end run (constrained against free decode in the engine at --batch); none skips it", defaultValue: "demo");
    private readonly FolioOption<int> _engineRequests = CliOptions.Int("--engine-requests", "N", "requests in each end-to-end pass (more than --batch keeps the batch full)", 64, min: 1);
    private readonly FolioOption<int> _enginePromptTokens = CliOptions.Int("--engine-prompt-tokens", "N", "prompt length of each end-to-end request (random token ids)", 32, min: 1);
    private readonly FolioOption<int> _engineMaxTokens = CliOptions.Int("--engine-max-tokens", "N", "output tokens at most per end-to-end request", 64, min: 1);
    private readonly FolioOption<int> _repeat = CliOptions.Int("--repeat", "N", "end-to-end rounds after a warm-up round; free and constrained alternate, the best round of each counts", 3, min: 1);
    private readonly EngineSetupOptions _engine = new(kvCacheMemory: false);

    public BenchStructuredCommand()
        : base("bench structured", "structured output: schema compile time and per-token mask time (p50/p99) on the demo and Llama 3 vocabularies, and constrained against free decode throughput in the engine")
    {
        Add(_tokenizers, _schema, _sequences, _maxTokens, _compileRuns, _batch, _seed, _engineModel, _engineRequests, _enginePromptTokens, _engineMaxTokens, _repeat);
        Add(_engine);
    }

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        var setup = _engine.Read(parse);
        string? schemaPath = parse.GetValue(_schema);
        try
        {
            int code = StructuredBench.Run(new StructuredBenchOptions
            {
                Tokenizers = parse.GetValue(_tokenizers) is { Length: > 0 } n ? n : ["demo", "llama3"],
                SchemaPath = schemaPath,
                Sequences = parse.GetValue(_sequences),
                MaxTokens = parse.GetValue(_maxTokens),
                CompileRuns = parse.GetValue(_compileRuns),
                BatchSize = parse.GetValue(_batch),
                Seed = parse.GetValue(_seed),
            }, Console.Out, cancellationToken);

            if (parse.GetValue(_engineModel) is { } modelPath && modelPath != "none")
            {
                using var model = ModelLoader.Load(modelPath);
                var spec = ConstraintSpec.JsonSchema(schemaPath is null ? StructuredBenchOptions.DefaultSchema : File.ReadAllText(schemaPath));
                var options = new StructuredEngineBenchOptions(parse.GetValue(_batch), parse.GetValue(_engineRequests), parse.GetValue(_enginePromptTokens), parse.GetValue(_engineMaxTokens), parse.GetValue(_repeat), parse.GetValue(_seed));
                if (!StructuredEngineBench.Run(model, setup, spec, options, Console.Out, cancellationToken))
                {
                    code = 1;
                }
            }

            return Task.FromResult(code);
        }
        catch (ConstraintException e)
        {
            throw new CliUsageException("--schema: " + e.Message);
        }
    }
}
