using System.CommandLine;
using System.Globalization;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Client.Batches;

namespace Folio.Cli.Commands;

/// <summary>`folio batch status ID`: the batch hash: total, done, failed, and what is still unfinished.</summary>
public sealed class BatchStatusCommand : FolioCommand
{
    private readonly Argument<string> _batchId = new("BATCH_ID");
    private readonly QueueConnectionOptions _connection = new();

    public BatchStatusCommand()
        : base("batch status", "print a batch's counts: total, done, failed, unfinished")
    {
        Add(_batchId, "the id `folio batch submit` printed");
        Add(_connection);
    }

    public override IReadOnlyList<string> Notes =>
        ["Prints one `name value` line each for total, done, failed and unfinished (queued or running). done counts requests that ended with a done entry, failed those that ended with an error entry; workers count each request once, also when it was redelivered or resumed. Exit code 1 when Redis holds no such batch (never submitted, or expired)."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string batchId = BatchCommands.CheckId(parse.GetValue(_batchId)!);
        var options = _connection.Read(parse);
        options.DeclareQueue = false;
        await using var client = await FolioBatchClient.ConnectAsync(options, cancellationToken);
        var s = await client.StatusAsync(batchId);
        if (!s.Exists)
        {
            throw new InvalidOperationException($"no batch {batchId} in Redis: never submitted, or expired (Folio:Redis:BatchTtlSeconds)");
        }

        await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"total {s.Total}\ndone {s.Done}\nfailed {s.Failed}\nunfinished {s.Unfinished}"));
        return ExitCodes.Success;
    }
}
