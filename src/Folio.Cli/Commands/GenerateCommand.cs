using Folio.Engine.Core;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Contracts;
using Folio.Engine;
using Folio.Models.Loading;
using Folio.Text.Tokenization;

namespace Folio.Cli.Commands;

/// <summary>`folio generate`: runs the engine in process on one prompt or a file of contract requests.</summary>
public sealed class GenerateCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH|demo", "a Hugging Face folder, a .gguf file, or demo");
    private readonly FolioOption<string?> _prompt = CliOptions.String("--prompt", "TEXT", "a text prompt (the model's BOS rule applies)");
    private readonly FolioOption<int[]?> _promptTokenIds = CliOptions.IntList("--prompt-token-ids", "LIST", "prompt token ids, used exactly as given (no BOS added), e.g. 1,2,3");
    private readonly FolioOption<string?> _promptsFile = CliOptions.String("--prompts-file", "FILE", "one contract JSON request per line; all run as one continuous batch, and one JSON line per finished request is written");
    private readonly FolioOption<bool> _json = CliOptions.Flag("--json", "one JSON line per token, then a summary line");
    private readonly SamplingOptions _sampling = new();
    private readonly EngineSetupOptions _engine = new();

    public GenerateCommand()
        : base("generate", "generate text in process (one prompt, or a JSON-lines file of requests as one continuous batch)")
    {
        Add(_model, _prompt, _promptTokenIds, _promptsFile, _json);
        Add(_sampling);
        Add(_engine);
    }

    public override string Synopsis => "--model PATH|demo (--prompt TEXT | --prompt-token-ids LIST | --prompts-file FILE) [options]";

    public override IReadOnlyList<string> Notes =>
        ["With --prompts-file the sampling options are not used: each request carries its own fields. --logprobs prints with --json only."];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string modelPath = parse.GetValue(_model)!;
        string? prompt = parse.GetValue(_prompt);
        int[]? promptIds = parse.GetIntList(_promptTokenIds);
        string? promptsFile = parse.GetValue(_promptsFile);
        bool json = parse.GetValue(_json);
        var setup = _engine.Read(parse);
        if ((prompt is null ? 0 : 1) + (promptIds is null ? 0 : 1) + (promptsFile is null ? 0 : 1) != 1)
        {
            throw Usage("give exactly one of --prompt, --prompt-token-ids and --prompts-file");
        }

        // The sampling options, checked as the worker checks a request, before the model loads.
        var request = promptsFile is null ? _sampling.ToRequest(parse, "cli", prompt, promptIds) : null;
        if (promptsFile is not null && !File.Exists(promptsFile))
        {
            throw Usage($"--prompts-file {promptsFile}: no such file");
        }

        using var model = ModelLoader.Load(modelPath);
        using var runner = setup.CreateRunner(model);
        var sink = new ChannelOutputSink();
        using var engine = new LlmEngine(runner, model.Tokenizer, setup.Options, sink);
        engine.Start();
        var stdout = context.Out;

        if (promptsFile is not null)
        {
            return await RunFileAsync(engine, model.Tokenizer, model.Config.VocabSize, promptsFile, sink, stdout, cancellationToken);
        }

        int[] ids = promptIds ?? model.Tokenizer.Encode(prompt!, addSpecialTokens: true);
        try
        {
            var single = request!;
            engine.AddRequest(new EngineRequest(new RequestKey(0), ids, single.ToSamplingParams()) { Priority = single.Priority });
        }
        catch (ArgumentException e)
        {
            throw Usage(e.Message);
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
                    await stdout.WriteAsync(o.TextDelta);
                }

                if (o.Finished)
                {
                    if (json)
                    {
                        WriteSummaryJson(stdout, o, clock.Elapsed.TotalSeconds);
                    }
                    else
                    {
                        await stdout.WriteLineAsync();
                    }

                    await stdout.FlushAsync(cancellationToken);
                    if (o.FinishReason is FinishReason.PromptTooLong or FinishReason.Error)
                    {
                        await context.Error.WriteLineAsync($"folio generate: {o.ErrorMessage}");
                        return ExitCodes.Failure;
                    }

                    return ExitCodes.Success;
                }
            }

            await stdout.FlushAsync(cancellationToken);
        }

        return ExitCodes.Failure;
    }

    private static async Task<int> RunFileAsync(LlmEngine engine, ITokenizer tokenizer, int vocab, string path, ChannelOutputSink sink, TextWriter stdout, CancellationToken ct)
    {
        var limits = new RequestLimits(vocab, engine.MaxModelLen, engine.MaxModelLen, engine.MaxModelLen);
        // The engine knows requests by a key of the CLI's own (the line number), so that two lines
        // with the same request id both run; the output names the request id.
        var requests = new Dictionary<RequestKey, (string Id, List<int> Tokens)>();
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
                engine.AddRequest(new EngineRequest(LineKey(lineNo), ids, request.ToSamplingParams()) { Priority = request.Priority });
            }
            catch (ArgumentException e)
            {
                WriteErrorJson(stdout, request.RequestId, ErrorCodes.InvalidRequest, $"{path}:{lineNo}: {e.Message}");
                failures++;
                continue;
            }

            requests[LineKey(lineNo)] = (request.RequestId, []);
            pending++;
        }

        await stdout.FlushAsync(ct);
        while (pending > 0 && await sink.Reader.WaitToReadAsync(ct))
        {
            while (sink.Reader.TryRead(out var step))
            {
                foreach (var o in step)
                {
                    var (requestId, tokens) = requests[o.Key];
                    if (o.TokenId is int t)
                    {
                        tokens.Add(t);
                    }

                    if (!o.Finished)
                    {
                        continue;
                    }

                    pending--;
                    if (o.FinishReason is FinishReason.PromptTooLong or FinishReason.Error)
                    {
                        WriteErrorJson(stdout, requestId, o.FinishReason == FinishReason.PromptTooLong ? ErrorCodes.PromptTooLong : ErrorCodes.Internal, o.ErrorMessage ?? string.Empty);
                        failures++;
                    }
                    else
                    {
                        WriteResultJson(stdout, requestId, o, tokens);
                    }
                }
            }

            await stdout.FlushAsync(ct);
        }

        return failures == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static RequestKey LineKey(int lineNo) => new(lineNo);

    private static Utf8JsonWriter Writer(Stream s) => new(s, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static void Line(TextWriter stdout, Action<Utf8JsonWriter> write)
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

    private static void WriteTokenJson(TextWriter stdout, RequestOutput o, ITokenizer tokenizer)
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

    private static void WriteSummaryJson(TextWriter stdout, RequestOutput o, double seconds) => Line(stdout, w =>
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

    private static void WriteResultJson(TextWriter stdout, string requestId, RequestOutput o, List<int> tokens) => Line(stdout, w =>
    {
        w.WriteString("request_id", requestId);
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

    private static void WriteErrorJson(TextWriter stdout, string requestId, string code, string message) => Line(stdout, w =>
    {
        w.WriteString("request_id", requestId);
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteEndObject();
    });
}
