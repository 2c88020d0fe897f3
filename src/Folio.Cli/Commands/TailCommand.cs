using System.CommandLine;
using System.Globalization;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Client;
using Folio.Contracts;

namespace Folio.Cli.Commands;

/// <summary>`folio tail REQUEST_ID`: prints a request's stream as it is written, from the start.</summary>
public sealed class TailCommand : FolioCommand
{
    private readonly Argument<string> _requestId = new("REQUEST_ID");
    private readonly FolioOption<bool> _raw = CliOptions.Flag("--raw", "print every entry with its fields instead of the text");
    private readonly FolioOption<int> _timeout = CliOptions.Int("--timeout", "SECONDS", "give up after this long", 600, min: 1);
    private readonly QueueConnectionOptions _connection = new();

    public TailCommand()
        : base("tail", "print a request's output stream from Redis until it ends")
    {
        Add(_requestId, "the request whose stream to print");
        Add(_raw, _timeout);
        Add(_connection);
    }

    public override IReadOnlyList<string> Notes =>
        ["Token text goes to stdout as it arrives; the closing summary (or the error) to stderr. Exit code 1 when the stream ends with an error entry."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string requestId = parse.GetValue(_requestId)!;
        if (!RequestIdRules.IsValid(requestId))
        {
            throw Usage($"REQUEST_ID must be {RequestIdRules.Description}; got '{requestId}'");
        }

        var options = _connection.Read(parse);
        options.DeclareQueue = false;
        await using var client = await FolioClient.ConnectAsync(options, cancellationToken);
        return await PrintStreamAsync(client, requestId, parse.GetValue(_raw), parse.GetValue(_timeout), context, cancellationToken);
    }

    /// <summary>Prints the stream until it ends or <paramref name="timeoutSeconds"/> pass (a failure, exit code 1).</summary>
    internal static async Task<int> PrintStreamAsync(FolioClient client, string requestId, bool raw, int timeoutSeconds, CliContext context, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            return await PrintStreamAsync(client, requestId, raw, context, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"stream of {requestId} did not end within {timeoutSeconds} s (--timeout)");
        }
    }

    /// <summary>Prints token text to stdout as it arrives and a summary to stderr; 0 on done, 1 on error.</summary>
    private static async Task<int> PrintStreamAsync(FolioClient client, string requestId, bool raw, CliContext context, CancellationToken ct)
    {
        await foreach (var e in client.StreamAsync(requestId, cancellationToken: ct))
        {
            if (raw)
            {
                await context.Out.WriteLineAsync(e.Id + " " + string.Join(" ", e.Fields.Select(kv => $"{kv.Key}={Quote(kv.Value)}")));
                await context.Out.FlushAsync(ct);
                continue;
            }

            switch (e.Type)
            {
                case EntryTypes.Token:
                    await context.Out.WriteAsync(e.Text);
                    await context.Out.FlushAsync(ct);
                    break;
                case EntryTypes.Start when e.Get(StreamFields.ResumeIndex) is { } resume && resume != "0":
                    await context.Error.WriteLineAsync($"\n[resumed by {e.Get(StreamFields.Worker)} at token {resume}]");
                    break;
                case EntryTypes.Done:
                    await context.Out.WriteLineAsync();
                    await context.Out.FlushAsync(ct);
                    await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[done: {e.FinishReason}, {e.Get(StreamFields.PromptTokens)} prompt + {e.Get(StreamFields.CompletionTokens)} completion tokens, ttft {e.Get(StreamFields.TtftMs)} ms, total {e.Get(StreamFields.TotalMs)} ms]"));
                    break;
                case EntryTypes.Error:
                    await context.Error.WriteLineAsync($"[error {e.ErrorCode}: {e.ErrorMessage}]");
                    break;
            }

            if (e.IsTerminal)
            {
                return e.Type == EntryTypes.Done ? ExitCodes.Success : ExitCodes.Failure;
            }
        }

        return ExitCodes.Failure;
    }

    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) || s.Length == 0 ? System.Text.Json.JsonSerializer.Serialize(s) : s;
}
