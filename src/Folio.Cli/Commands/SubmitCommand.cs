using System.Globalization;
using Folio.Client;
using Folio.Contracts;

namespace Folio.Cli.Commands;

/// <summary>`folio submit`: publishes one request to the queue; with --wait, streams its text to stdout.</summary>
public sealed class SubmitCommand : ICliCommand
{
    public string Name => "submit";

    public string Summary => "publish a request to RabbitMQ (and stream its output with --wait)";

    public string Usage => """
        usage: folio submit --prompt TEXT [options] [--wait]
          --prompt TEXT          the prompt (or --prompt-token-ids 1,2,3)
          --request-id ID        default: a new id
          --max-tokens N  --min-tokens N  --temperature X  --top-p X  --top-k N  --min-p X
          --repetition-penalty X  --presence-penalty X  --frequency-penalty X  --seed N
          --stop S (one stop string)  --ignore-eos  --logprobs N  --priority N
          --wait                 stream the text to stdout until done; exit 1 on an error entry
          --timeout SECONDS      with --wait: give up after this long (default 600)
        """ + "\n" + QueueConnectionArgs.Usage;

    public async Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        var options = QueueConnectionArgs.Read(args);
        string? prompt = args.String("prompt");
        int[]? ids = args.IntList("prompt-token-ids");
        if (prompt is null == ids is null)
        {
            throw new CliUsageException("give exactly one of --prompt and --prompt-token-ids");
        }

        string requestId = args.String("request-id") ?? "cli-" + Guid.NewGuid().ToString("N")[..12];
        var request = new GenerationRequest
        {
            RequestId = requestId,
            Prompt = prompt,
            PromptTokenIds = ids,
            MaxTokens = args.Int("max-tokens", RequestDefaults.MaxTokens),
            MinTokens = args.Int("min-tokens", RequestDefaults.MinTokens),
            Temperature = args.Double("temperature", RequestDefaults.Temperature),
            TopP = args.Double("top-p", RequestDefaults.TopP),
            TopK = args.Int("top-k", RequestDefaults.TopK),
            MinP = args.Double("min-p", RequestDefaults.MinP),
            RepetitionPenalty = args.Double("repetition-penalty", RequestDefaults.RepetitionPenalty),
            PresencePenalty = args.Double("presence-penalty", RequestDefaults.PresencePenalty),
            FrequencyPenalty = args.Double("frequency-penalty", RequestDefaults.FrequencyPenalty),
            Seed = args.OptionalLong("seed"),
            Stop = args.String("stop") is { } stop ? [stop] : [],
            IgnoreEos = args.Flag("ignore-eos"),
            Logprobs = args.OptionalInt("logprobs"),
            Priority = args.Int("priority", RequestDefaults.Priority),
        };
        bool wait = args.Flag("wait");
        int timeout = args.Int("timeout", 600);
        args.RejectUnknown();

        // Check locally what the worker would reject anyway, so the user sees it at once.
        var check = RequestParser.Parse(RequestSerializer.ToUtf8Json(request));
        if (!check.IsValid)
        {
            throw new CliUsageException(check.Error!.Message);
        }

        await using var client = await FolioClient.ConnectAsync(options, cancellationToken);
        await client.SubmitAsync(request, cancellationToken);
        if (!wait)
        {
            Console.WriteLine(requestId);
            return 0;
        }

        Console.Error.WriteLine($"request {requestId} submitted; waiting for output");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeout));
        return await TailCommand.PrintStreamAsync(client, requestId, raw: false, deadline.Token);
    }
}
