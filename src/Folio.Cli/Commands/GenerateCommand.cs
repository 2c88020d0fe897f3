using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text;
using Folio.Contracts;
using Folio.Engine.Sampling;
using Folio.Engine;
using Folio.Models.Loading;
using Folio.Text.Tokenization;

namespace Folio.Cli.Commands;

/// <summary>`folio generate`: runs the engine in process on one prompt or a file of contract requests.</summary>
public sealed class GenerateCommand : ICliCommand
{
    public string Name => "generate";

    public string Summary => "generate text in process (one prompt, or a JSON-lines file of requests as one continuous batch)";

    public string Usage => $"""
        usage: folio generate --model PATH|demo (--prompt TEXT | --prompt-token-ids 1,2,3 | --prompts-file FILE) [options]
          --model PATH|demo            a Hugging Face folder, a .gguf file, or demo
          --prompt TEXT                a text prompt (the model's BOS rule applies)
          --prompt-token-ids LIST      prompt token ids, used exactly as given (no BOS added)
          --prompts-file FILE          one contract JSON request per line; all run as one continuous
                                       batch; one JSON line per finished request is written
          --max-tokens N               tokens to generate (default 16)
          --temperature T              0 = greedy (default 1.0)
          --top-p P, --top-k K, --min-p P
          --seed S                     sampling seed (default: random, printed with --json)
          --ignore-eos                 keep going past the end-of-sequence token
          --logprobs N                 with --json: logprob of each token plus N alternatives
          --json                       one JSON line per token, then a summary line
        {EngineCliSetup.UsageLines}
        """;

    public async Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        string modelPath = args.RequireString("model");
        string? prompt = args.String("prompt");
        int[]? promptIds = args.IntList("prompt-token-ids");
        string? promptsFile = args.String("prompts-file");
        var sampling = new SamplingParams
        {
            MaxTokens = args.Int("max-tokens", 16),
            Temperature = args.Double("temperature", 1.0),
            TopP = args.Double("top-p", 1.0),
            TopK = args.Int("top-k", 0),
            MinP = args.Double("min-p", 0),
            Seed = args.OptionalLong("seed"),
            IgnoreEos = args.Flag("ignore-eos"),
            Logprobs = args.OptionalInt("logprobs"),
        };
        bool json = args.Flag("json");
        var setup = EngineCliSetup.Read(args);
        args.RejectUnknown();

        if ((prompt is null ? 0 : 1) + (promptIds is null ? 0 : 1) + (promptsFile is null ? 0 : 1) != 1)
        {
            throw new CliUsageException("give exactly one of --prompt, --prompt-token-ids and --prompts-file");
        }

        try
        {
            sampling.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message);
        }

        using var model = ModelLoader.Load(modelPath);
        using var runner = setup.CreateRunner(model);
        var sink = new ChannelOutputSink();
        using var engine = new LlmEngine(runner, model.Tokenizer, setup.Options, sink);
        engine.Start();
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };

        if (promptsFile is not null)
        {
            return await RunFileAsync(engine, model.Tokenizer, model.Config.VocabSize, promptsFile, sink, stdout, cancellationToken);
        }

        int[] ids = promptIds ?? model.Tokenizer.Encode(prompt!, addSpecialTokens: true);
        try
        {
            engine.AddRequest(new EngineRequest("cli", ids, sampling));
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message);
        }

        var clock = Stopwatch.StartNew();
        await foreach (var step in sink.Reader.ReadAllAsync(cancellationToken))
        {
            foreach (var o in step)
            {
                if (json)
                {
                    WriteTokenJson(stdout, o, model.Tokenizer);
                }
                else
                {
                    stdout.Write(o.TextDelta);
                }

                if (o.Finished)
                {
                    if (json)
                    {
                        WriteSummaryJson(stdout, o, clock.Elapsed.TotalSeconds);
                    }
                    else
                    {
                        stdout.WriteLine();
                    }

                    await stdout.FlushAsync(cancellationToken);
                    if (o.FinishReason == FinishReason.PromptTooLong)
                    {
                        Console.Error.WriteLine($"folio generate: {o.ErrorMessage}");
                        return 1;
                    }

                    return 0;
                }
            }

            await stdout.FlushAsync(cancellationToken);
        }

        return 1;
    }

    private static async Task<int> RunFileAsync(LlmEngine engine, ITokenizer tokenizer, int vocab, string path, ChannelOutputSink sink, StreamWriter stdout, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            throw new CliUsageException($"--prompts-file {path}: no such file");
        }

        var limits = new RequestLimits(vocab, engine.MaxModelLen, engine.MaxModelLen, engine.MaxModelLen);
        var texts = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        int pending = 0;
        int lineNo = 0;
        int failures = 0;
        foreach (string line in await File.ReadAllLinesAsync(path, ct))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var parsed = RequestParser.Parse(Encoding.UTF8.GetBytes(line));
            if (parsed.Request is not { } request)
            {
                WriteErrorJson(stdout, parsed.Error!.RequestId ?? $"line-{lineNo}", parsed.Error.Code, $"{path}:{lineNo}: {parsed.Error.Message}");
                failures++;
                continue;
            }

            int[] ids = request.PromptTokenIds is { } given ? [.. given] : tokenizer.Encode(request.Prompt ?? string.Empty, addSpecialTokens: true);
            if (limits.Validate(request, ids.Length) is { } error)
            {
                WriteErrorJson(stdout, request.RequestId, error.Code, $"{path}:{lineNo}: {error.Message}");
                failures++;
                continue;
            }

            try
            {
                engine.AddRequest(new EngineRequest(request.RequestId, ids, request.ToSamplingParams()) { Priority = request.Priority });
            }
            catch (ArgumentException e)
            {
                WriteErrorJson(stdout, request.RequestId, ErrorCodes.InvalidRequest, $"{path}:{lineNo}: {e.Message}");
                failures++;
                continue;
            }

            texts[request.RequestId] = [];
            pending++;
        }

        await stdout.FlushAsync(ct);
        while (pending > 0 && await sink.Reader.WaitToReadAsync(ct))
        {
            while (sink.Reader.TryRead(out var step))
            {
                foreach (var o in step)
                {
                    if (o.TokenId is int t)
                    {
                        texts[o.RequestId].Add(t);
                    }

                    if (!o.Finished)
                    {
                        continue;
                    }

                    pending--;
                    if (o.FinishReason is FinishReason.PromptTooLong or FinishReason.Error)
                    {
                        WriteErrorJson(stdout, o.RequestId, o.FinishReason == FinishReason.PromptTooLong ? ErrorCodes.PromptTooLong : ErrorCodes.Internal, o.ErrorMessage ?? string.Empty);
                        failures++;
                    }
                    else
                    {
                        WriteResultJson(stdout, o, texts[o.RequestId]);
                    }
                }
            }

            await stdout.FlushAsync(ct);
        }

        return failures == 0 ? 0 : 1;
    }

    private static Utf8JsonWriter Writer(Stream s) => new(s, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static void Line(StreamWriter stdout, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = Writer(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        stdout.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void WriteTokenJson(StreamWriter stdout, RequestOutput o, ITokenizer tokenizer)
    {
        if (o.TokenId is not int token)
        {
            return;
        }

        Line(stdout, w =>
        {
            w.WriteNumber("index", o.Index);
            w.WriteNumber("token_id", token);
            w.WriteString("text", o.TextDelta);
            if (o.Logprobs is { } lp)
            {
                w.WriteNumber("logprob", lp.Logprob);
                w.WriteStartObject("top_logprobs");
                foreach (var alt in lp.Top)
                {
                    w.WriteNumber(tokenizer.TokenText(alt.TokenId), alt.Logprob);
                }

                w.WriteEndObject();
            }
        });
    }

    private static void WriteSummaryJson(StreamWriter stdout, RequestOutput o, double seconds) => Line(stdout, w =>
    {
        w.WriteString("finish_reason", o.FinishReason!.Value.ToContractString());
        w.WriteString("stop_reason", o.StopReason ?? string.Empty);
        w.WriteNumber("prompt_tokens", o.Usage.PromptTokens);
        w.WriteNumber("completion_tokens", o.Usage.CompletionTokens);
        w.WriteNumber("cached_tokens", o.Usage.CachedTokens);
        w.WriteNumber("seed", o.Seed);
        w.WriteString("text", o.Text);
        w.WriteNumber("ttft_ms", Math.Round(o.TimeToFirstTokenMs ?? 0, 3));
        w.WriteNumber("total_ms", Math.Round(o.ElapsedMs, 3));
        w.WriteNumber("tokens_per_s", seconds > 0 ? Math.Round(o.Usage.CompletionTokens / seconds, 2) : 0);
    });

    private static void WriteResultJson(StreamWriter stdout, RequestOutput o, List<int> tokens) => Line(stdout, w =>
    {
        w.WriteString("request_id", o.RequestId);
        w.WriteStartArray("token_ids");
        foreach (int t in tokens)
        {
            w.WriteNumberValue(t);
        }

        w.WriteEndArray();
        w.WriteString("text", o.Text);
        w.WriteString("finish_reason", o.FinishReason!.Value.ToContractString());
        w.WriteString("stop_reason", o.StopReason ?? string.Empty);
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", o.Usage.PromptTokens);
        w.WriteNumber("completion_tokens", o.Usage.CompletionTokens);
        w.WriteNumber("cached_tokens", o.Usage.CachedTokens);
        w.WriteEndObject();
        w.WriteNumber("seed", o.Seed);
        w.WriteNumber("ttft_ms", Math.Round(o.TimeToFirstTokenMs ?? 0, 3));
        w.WriteNumber("total_ms", Math.Round(o.ElapsedMs, 3));
    });

    private static void WriteErrorJson(StreamWriter stdout, string requestId, string code, string message) => Line(stdout, w =>
    {
        w.WriteString("request_id", requestId);
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteEndObject();
    });

    internal static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
