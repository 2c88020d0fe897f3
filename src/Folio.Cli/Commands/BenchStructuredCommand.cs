using System.CommandLine;
using Folio.Cli.Benchmarks;
using Folio.Cli.CommandLine;

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

    public BenchStructuredCommand()
        : base("bench structured", "structured output: schema compile time and per-token mask time (p50/p99) on the demo and Llama 3 vocabularies")
        => Add(_tokenizers, _schema, _sequences, _maxTokens, _compileRuns, _batch, _seed);

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult(StructuredBench.Run(new StructuredBenchOptions
            {
                Tokenizers = parse.GetValue(_tokenizers) is { Length: > 0 } n ? n : ["demo", "llama3"],
                SchemaPath = parse.GetValue(_schema),
                Sequences = parse.GetValue(_sequences),
                MaxTokens = parse.GetValue(_maxTokens),
                CompileRuns = parse.GetValue(_compileRuns),
                BatchSize = parse.GetValue(_batch),
                Seed = parse.GetValue(_seed),
            }, Console.Out, cancellationToken));
        }
        catch (Folio.Engine.Constraints.ConstraintException e)
        {
            throw new CliUsageException("--schema: " + e.Message);
        }
    }
}
