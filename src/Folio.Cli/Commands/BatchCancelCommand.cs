using System.CommandLine;
using System.Globalization;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Client.Batches;

namespace Folio.Cli.Commands;

/// <summary>`folio batch cancel ID`: publishes a cancel for every request of the batch that has not ended.</summary>
public sealed class BatchCancelCommand : FolioCommand
{
    private readonly Argument<string> _batchId = new("BATCH_ID");
    private readonly QueueConnectionOptions _connection = new();

    public BatchCancelCommand()
        : base("batch cancel", "cancel every request of a batch that has not ended")
    {
        Add(_batchId, "the id `folio batch submit` printed");
        Add(_connection);
    }

    public override IReadOnlyList<string> Notes =>
        ["Running requests end with finish_reason abort within one engine step; queued ones are answered the same way when a worker takes them, as long as the worker's cancel marker lives (Folio:Redis:StreamTtlSeconds). `collect` writes a cancelled request as an error line with code cancelled. Prints how many cancels were published."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string batchId = BatchCommands.CheckId(parse.GetValue(_batchId)!);
        var options = _connection.Read(parse);
        await using var client = await FolioBatchClient.ConnectAsync(options, cancellationToken);
        if (!(await client.StatusAsync(batchId)).Exists)
        {
            throw new InvalidOperationException($"no batch {batchId} in Redis: never submitted, or expired (Folio:Redis:BatchTtlSeconds)");
        }

        int n = await client.CancelAsync(batchId, cancellationToken);
        await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{n} cancels published"));
        return ExitCodes.Success;
    }
}
