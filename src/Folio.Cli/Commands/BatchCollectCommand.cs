using System.CommandLine;
using System.Globalization;
using System.Text;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Client.Batches;

namespace Folio.Cli.Commands;

/// <summary>`folio batch collect ID --out FILE.jsonl`: one OpenAI batch output line per request, in the order of the submitted file.</summary>
public sealed class BatchCollectCommand : FolioCommand
{
    /// <summary>Some requests had not ended (with --no-wait, or when --timeout passed): their lines are missing.</summary>
    public const int Unfinished = 3;

    private readonly Argument<string> _batchId = new("BATCH_ID");
    private readonly FolioOption<string?> _out = CliOptions.String("--out", "FILE", "where to write the results (JSONL)", required: true);
    private readonly FolioOption<bool> _noWait = CliOptions.Flag("--no-wait", "write what has ended now instead of waiting for every request");
    private readonly FolioOption<int> _timeout = CliOptions.Int("--timeout", "SECONDS", "without --no-wait: stop waiting after this long and write what has ended", 86400, min: 1);
    private readonly QueueConnectionOptions _connection = new();

    public BatchCollectCommand()
        : base("batch collect", "write a batch's results in the OpenAI batch output format")
    {
        Add(_batchId, "the id `folio batch submit` printed");
        Add(_out, _noWait, _timeout);
        Add(_connection);
    }

    public override IReadOnlyList<ExitCode> OwnExitCodes => [new(Unfinished, "some requests had not ended (--no-wait, or --timeout passed): their lines are missing and their custom_ids listed on stderr")];

    public override IReadOnlyList<string> Notes =>
    [
        "By default it waits until every request of the batch has ended, then writes one line per custom_id, in the order of the submitted file: {id, custom_id, response: {status_code: 200, request_id, body}, error: null}, the body in the text_completion or chat.completion shape (choices[0].text or message.content, finish_reason, usage), or {id, custom_id, response: null, error: {code, message}} for a request that failed or was cancelled.",
        "With --no-wait it writes the lines of the requests that have ended and lists the others (exit code 3). Collecting twice writes the same file.",
    ];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string batchId = BatchCommands.CheckId(parse.GetValue(_batchId)!);
        string outPath = parse.GetValue(_out)!;
        bool wait = !parse.GetValue(_noWait);
        var options = _connection.Read(parse);
        options.DeclareQueue = false;
        await using var client = await FolioBatchClient.ConnectAsync(options, cancellationToken);
        var status = await client.StatusAsync(batchId);
        if (!status.Exists)
        {
            throw new InvalidOperationException($"no batch {batchId} in Redis: never submitted, or expired (Folio:Redis:BatchTtlSeconds)");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(parse.GetValue(_timeout)));
        var result = await context.WithProgressAsync("batch collect", async progress =>
        {
            var task = progress.AddTask($"collecting {status.Total} results of {batchId}", (int)Math.Min(int.MaxValue, status.Total));
            try
            {
                return await client.CollectAsync(batchId, wait, new LockedProgress(task), cancellationToken: deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // --timeout: write what has ended.
                return await client.CollectAsync(batchId, wait: false, cancellationToken: cancellationToken);
            }
            finally
            {
                task.Complete();
            }
        });

        await File.WriteAllLinesAsync(outPath, result.Lines, new UTF8Encoding(false), cancellationToken);
        foreach (var m in result.Unfinished.Take(20))
        {
            await context.Error.WriteLineAsync($"unfinished: {m.CustomId} (request {m.RequestId})");
        }

        await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"batch {batchId}: {result.Lines.Count} results written to {outPath}, {result.Unfinished.Count} unfinished"));
        return result.Unfinished.Count > 0 ? Unfinished : ExitCodes.Success;
    }
}
