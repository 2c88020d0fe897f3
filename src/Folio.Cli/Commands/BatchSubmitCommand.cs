using System.CommandLine;
using System.Globalization;
using System.Text;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Client.Batches;
using Folio.Contracts;

namespace Folio.Cli.Commands;

/// <summary>`folio batch submit FILE.jsonl`: publishes every valid line of an OpenAI batch input file as one request of a batch.</summary>
public sealed class BatchSubmitCommand : FolioCommand
{
    /// <summary>Some lines were bad (listed on stderr); the valid ones were submitted.</summary>
    public const int BadLines = 3;

    private readonly Argument<string> _file = new("FILE");
    private readonly FolioOption<string?> _batchId = CliOptions.String("--batch-id", "ID", "the batch's id (names its Redis keys; request ids derive from it and each custom_id)", defaultText: "batch- and a hash of the file's content, so the same file is the same batch");
    private readonly FolioOption<int> _ttl = CliOptions.Int("--ttl", "SECONDS", "how long the batch's registry (its lines and total) is kept in Redis; match the workers' Folio:Redis:BatchTtlSeconds", BatchKeys.DefaultTtlSeconds, min: 1);
    private readonly QueueConnectionOptions _connection = new();

    public BatchSubmitCommand()
        : base("batch submit", "publish the lines of an OpenAI batch input file (JSONL) as a batch; prints its id")
    {
        Add(_file, "the batch file: one {custom_id, method, url, body} object per line, url /v1/completions or /v1/chat/completions");
        Add(_batchId, _ttl);
        Add(_connection);
    }

    public override IReadOnlyList<ExitCode> OwnExitCodes => [new(BadLines, "some lines were bad (each listed on stderr with its line number and reason); the valid lines were submitted")];

    public override IReadOnlyList<string> Notes =>
    [
        "Each line's body is translated into a contract request (prompt or messages, max_tokens, temperature, stop, seed, ...) and checked as a worker checks it before anything is published; a bad line (not JSON, missing or duplicate custom_id, unknown url, a body field Folio refuses) is reported with its line number, and the other lines still run.",
        "Request ids derive from the batch id and each custom_id, so submitting the same file again runs nothing twice: lines whose requests already have a stream are not published again. The batch id goes to stdout, for `folio batch status`, `collect` and `cancel`.",
    ];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string path = parse.GetValue(_file)!;
        string? batchId = parse.GetValue(_batchId);
        if (batchId is not null && !RequestIdRules.IsValid(batchId))
        {
            throw Usage($"--batch-id must be {RequestIdRules.Description}; got {RequestIdRules.Explain(batchId)}");
        }

        var options = _connection.Read(parse);
        byte[] content = await File.ReadAllBytesAsync(path, cancellationToken);
        BatchFile file;
        try
        {
            file = BatchFileReader.Read(content, batchId);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidOperationException($"{path} is not UTF-8 text; a batch file is UTF-8 JSONL");
        }

        foreach (var error in file.Errors)
        {
            await context.Error.WriteLineAsync($"{path}: {error}");
        }

        if (file.Lines.Count == 0)
        {
            throw new InvalidOperationException($"{path} holds no valid line; nothing was submitted");
        }

        await using var client = await FolioBatchClient.ConnectAsync(options, cancellationToken);
        var result = await context.WithProgressAsync("batch submit", async progress =>
        {
            var task = progress.AddTask($"submitting {file.Lines.Count} requests of {file.BatchId}", file.Lines.Count);
            var r = await client.SubmitAsync(file, parse.GetValue(_ttl), new LockedProgress(task), cancellationToken: cancellationToken);
            task.Complete();
            return r;
        });

        await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"batch {file.BatchId}: {result.Published} requests published, {result.AlreadySubmitted} already submitted before, {file.Errors.Count} bad lines"));
        await context.Out.WriteLineAsync(file.BatchId);
        return file.Errors.Count > 0 ? BadLines : ExitCodes.Success;
    }
}
