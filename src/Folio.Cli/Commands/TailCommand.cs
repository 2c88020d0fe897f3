using System.Globalization;
using Folio.Client;
using Folio.Contracts;

namespace Folio.Cli.Commands;

/// <summary>`folio tail REQUEST_ID`: prints a request's stream as it is written, from the start.</summary>
public sealed class TailCommand : ICliCommand
{
    public string Name => "tail";

    public string Summary => "print a request's output stream from Redis until it ends";

    public string Usage => """
        usage: folio tail REQUEST_ID [--raw] [--timeout SECONDS]
          --raw                  print every entry with its fields instead of the text
          --timeout SECONDS      give up after this long (default 600)
        """ + "\n" + QueueConnectionArgs.Usage;

    public async Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        if (args.Positional.Count != 1)
        {
            throw new CliUsageException("give exactly one REQUEST_ID");
        }

        string requestId = args.Positional[0];
        if (!RequestIdRules.IsValid(requestId))
        {
            throw new CliUsageException($"REQUEST_ID must be {RequestIdRules.Description}");
        }

        var options = QueueConnectionArgs.Read(args);
        options.DeclareQueue = false;
        bool raw = args.Flag("raw");
        int timeout = args.Int("timeout", 600);
        args.RejectUnknown();
        await using var client = await FolioClient.ConnectAsync(options, cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeout));
        return await PrintStreamAsync(client, requestId, raw, deadline.Token);
    }

    /// <summary>Prints token text to stdout as it arrives and a summary to stderr; 0 on done, 1 on error.</summary>
    internal static async Task<int> PrintStreamAsync(FolioClient client, string requestId, bool raw, CancellationToken ct)
    {
        await foreach (var e in client.StreamAsync(requestId, cancellationToken: ct))
        {
            if (raw)
            {
                Console.WriteLine(e.Id + " " + string.Join(" ", e.Fields.Select(kv => $"{kv.Key}={Quote(kv.Value)}")));
                continue;
            }

            switch (e.Type)
            {
                case EntryTypes.Token:
                    Console.Write(e.Text);
                    break;
                case EntryTypes.Start when e.Get(StreamFields.ResumeIndex) is { } resume && resume != "0":
                    Console.Error.WriteLine($"\n[resumed by {e.Get(StreamFields.Worker)} at token {resume}]");
                    break;
                case EntryTypes.Done:
                    Console.WriteLine();
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[done: {e.FinishReason}, {e.Get(StreamFields.PromptTokens)} prompt + {e.Get(StreamFields.CompletionTokens)} completion tokens, ttft {e.Get(StreamFields.TtftMs)} ms, total {e.Get(StreamFields.TotalMs)} ms]"));
                    break;
                case EntryTypes.Error:
                    Console.Error.WriteLine($"[error {e.ErrorCode}: {e.ErrorMessage}]");
                    break;
            }

            if (e.IsTerminal)
            {
                return e.Type == EntryTypes.Done ? 0 : 1;
            }
        }

        return 1;
    }

    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) || s.Length == 0 ? System.Text.Json.JsonSerializer.Serialize(s) : s;
}
