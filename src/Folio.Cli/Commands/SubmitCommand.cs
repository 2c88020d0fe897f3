using System.CommandLine;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Client;

namespace Folio.Cli.Commands;

/// <summary>`folio submit`: publishes one request to the queue; with --wait, streams its text to stdout.</summary>
public sealed class SubmitCommand : FolioCommand
{
    private readonly FolioOption<string?> _prompt = CliOptions.String("--prompt", "TEXT", "the prompt");
    private readonly FolioOption<int[]?> _promptTokenIds = CliOptions.IntList("--prompt-token-ids", "LIST", "the prompt as token ids, e.g. 1,2,3");
    private readonly FolioOption<string?> _requestId = CliOptions.String("--request-id", "ID", "the request's id, which names its stream", defaultText: "a new id");
    private readonly FolioOption<bool> _wait = CliOptions.Flag("--wait", "stream the text to stdout until the request ends; exit code 1 on an error entry");
    private readonly FolioOption<int> _timeout = CliOptions.Int("--timeout", "SECONDS", "with --wait: give up after this long", 600, min: 1);
    private readonly SamplingOptions _sampling = new();
    private readonly RequestContentOptions _content = new();
    private readonly QueueConnectionOptions _connection = new();

    public SubmitCommand()
        : base("submit", "publish a request to RabbitMQ (and stream its output with --wait)")
    {
        Add(_prompt, _promptTokenIds, _requestId, _wait, _timeout);
        Add(_sampling);
        Add(_content);
        Add(_connection);
    }

    public override string Synopsis => "(--prompt TEXT | --prompt-token-ids LIST | --messages FILE) [--wait] [options]";

    public override IReadOnlyList<string> Notes =>
        ["Without --wait it prints the request id, for `folio tail`. The request is checked as the worker checks it before it is published."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        var options = _connection.Read(parse);
        string? prompt = parse.GetValue(_prompt);
        int[]? ids = parse.GetIntList(_promptTokenIds);
        int given = (prompt is null ? 0 : 1) + (ids is null ? 0 : 1) + (_content.HasMessages(parse) ? 1 : 0);
        if (given != 1)
        {
            throw Usage("give exactly one of --prompt, --prompt-token-ids and --messages");
        }

        string requestId = parse.GetValue(_requestId) ?? "cli-" + Guid.NewGuid().ToString("N")[..12];
        var request = _content.Apply(parse, _sampling.Unchecked(parse, requestId, prompt, ids), () => Console.In.ReadToEnd());

        await using var client = await FolioClient.ConnectAsync(options, cancellationToken);
        await client.SubmitAsync(request, cancellationToken);
        if (!parse.GetValue(_wait))
        {
            await context.Out.WriteLineAsync(requestId);
            return ExitCodes.Success;
        }

        await context.Error.WriteLineAsync($"request {requestId} submitted; waiting for output");
        return await TailCommand.PrintStreamAsync(client, requestId, raw: false, parse.GetValue(_timeout), context, cancellationToken);
    }
}
