using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Models;
using Folio.Models.Loading;
using Folio.Text.Chat;
using Folio.Text.Chat.Jinja;

namespace Folio.Cli.Commands;

/// <summary>
/// `folio chat`: renders a conversation with the model's chat template (or a given one), as a
/// worker renders a chat request (docs/contract.md section 6.1), and generates from it in process;
/// --render-only prints the exact prompt (and with --json its token ids) without generating.
/// </summary>
public sealed class ChatCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH|demo", "a Hugging Face folder, a .gguf file, or demo");
    private readonly FolioOption<string?> _messages = CliOptions.String("--messages", "FILE|-", "the conversation: a JSON array of {role, content} messages, or a chat request object (messages, tools, add_generation_prompt, continue_final_message, chat_template_kwargs); - reads standard input", required: true);
    private readonly FolioOption<string?> _tools = CliOptions.String("--tools", "FILE", "a JSON array of OpenAI function tools, passed to the template as tools");
    private readonly FolioOption<string?> _template = CliOptions.String("--template", "FILE", "a chat template file (.jinja, or .json holding chat_template) instead of the model's own");
    private readonly FolioOption<string?> _kwargs = CliOptions.String("--kwargs", "JSON", "extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
    private readonly FolioOption<bool> _noGenerationPrompt = CliOptions.Flag("--no-generation-prompt", "do not open the assistant's turn (add_generation_prompt false)");
    private readonly FolioOption<string> _contentSpecialTokens = CliOptions.Choice("--content-special-tokens", "what special-token text in the messages becomes: parse (the token, as Hugging Face does) or plain (ordinary text)", "parse", "parse", "plain");
    private readonly FolioOption<bool> _renderOnly = CliOptions.Flag("--render-only", "print the rendered prompt exactly (no newline added) and stop");
    private readonly FolioOption<bool> _json = CliOptions.Flag("--json", "with --render-only: the prompt and its token ids as JSON; otherwise one JSON line with the result");
    private readonly SamplingOptions _sampling = new();
    private readonly EngineSetupOptions _engine = new();

    public ChatCommand()
        : base("chat", "render a conversation with the model's chat template and generate the reply in process")
    {
        Add(_model, _messages, _tools, _template, _kwargs, _noGenerationPrompt, _contentSpecialTokens, _renderOnly, _json);
        Add(_sampling);
        Add(_engine);
    }

    public override string Synopsis => "--model PATH|demo --messages FILE|- [--tools FILE] [--template FILE] [--kwargs JSON] [--no-generation-prompt] [--render-only] [--json] [options]";

    public override IReadOnlyList<string> Notes =>
    [
        "The prompt is tokenized without adding BOS (the template writes it), as Hugging Face's apply_chat_template(..., tokenize=True) does.",
        "A conversation the model's template refuses (raise_exception) or a template the renderer cannot run ends with exit code 1 and the reason.",
    ];

    public override async Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        var request = ReadRequest(parse);
        var setup = _engine.Read(parse);
        var mode = parse.GetValue(_contentSpecialTokens) == "plain" ? ContentSpecialTokens.Plain : ContentSpecialTokens.Parse;
        var templateFile = parse.GetValue(_template);
        if (templateFile is not null && !File.Exists(templateFile))
        {
            throw Usage($"--template {templateFile}: no such file");
        }

        using var model = ModelLoader.Load(parse.GetValue(_model)!);
        var template = templateFile is null ? model.ChatTemplate : ChatTemplateSources.FromFile(templateFile, model.SpecialTokens);
        ChatPrompt prompt;
        try
        {
            prompt = new ChatPromptBuilder(template, model.Tokenizer, new ChatPromptOptions { ContentSpecialTokens = mode }).Build(request);
        }
        catch (ChatRequestException e)
        {
            throw Usage($"--messages: {e.Message}");
        }
        catch (ChatTemplateException e)
        {
            await context.Error.WriteLineAsync($"folio chat: {ChatErrors.Code(ChatErrors.KindOf(e)!.Value)}: {ChatErrors.UserMessage(e)}");
            return ExitCodes.Failure;
        }

        var json = parse.GetValue(_json);
        if (parse.GetValue(_renderOnly))
        {
            await context.Out.WriteAsync(json ? RenderJson(prompt) + "\n" : prompt.Text);
            await context.Out.FlushAsync(cancellationToken);
            return ExitCodes.Success;
        }

        return await GenerateAsync(parse, model, setup, prompt, json, context, cancellationToken);
    }

    private async Task<int> GenerateAsync(ParseResult parse, LoadedModel model, EngineCliSetup setup, ChatPrompt prompt, bool json, CliContext context, CancellationToken cancellationToken)
    {
        var sampling = _sampling.ToRequest(parse, "cli-chat", null, prompt.TokenIds);
        using var runner = setup.CreateRunner(model);
        var sink = new ChannelOutputSink();
        using var engine = new LlmEngine(runner, model.Tokenizer, setup.Options, sink);
        engine.Start();
        try
        {
            engine.AddRequest(new EngineRequest(new RequestKey(0), prompt.TokenIds, sampling.ToSamplingParams()) { Priority = sampling.Priority });
        }
        catch (ArgumentException e)
        {
            throw Usage(e.Message);
        }

        var clock = Stopwatch.StartNew();
        var tokens = new List<int>();
        await foreach (var step in sink.Reader.ReadAllAsync(cancellationToken))
        {
            foreach (var o in step)
            {
                if (o.TokenId is int t)
                {
                    tokens.Add(t);
                }

                if (!json)
                {
                    await context.Out.WriteAsync(o.TextDelta);
                }

                if (!o.Finished)
                {
                    continue;
                }

                if (o.FinishReason is FinishReason.PromptTooLong or FinishReason.Error)
                {
                    await context.Error.WriteLineAsync($"folio chat: {o.ErrorMessage}");
                    return ExitCodes.Failure;
                }

                await context.Out.WriteLineAsync(json ? ResultJson(prompt, o, tokens, clock.Elapsed.TotalMilliseconds) : string.Empty);
                await context.Out.FlushAsync(cancellationToken);
                return ExitCodes.Success;
            }

            await context.Out.FlushAsync(cancellationToken);
        }

        return ExitCodes.Failure;
    }

    /// <summary>The conversation from --messages (an array, or a request object), with --tools, --kwargs and --no-generation-prompt applied; shape errors are usage errors naming the field.</summary>
    private ChatPromptRequest ReadRequest(ParseResult parse)
    {
        var source = parse.GetValue(_messages)!;
        var request = ParseJson(source == "-" ? Console.In.ReadToEnd() : ReadFile("--messages", source), "--messages") switch
        {
            JsonArray array => new JsonObject { ["messages"] = array },
            JsonObject obj => obj,
            _ => throw Usage("--messages: the file must hold a JSON array of messages or a chat request object with \"messages\""),
        };
        if (parse.GetValue(_tools) is { } toolsFile)
        {
            request["tools"] = ParseJson(ReadFile("--tools", toolsFile), "--tools");
        }

        if (parse.GetValue(_kwargs) is { } kwargs)
        {
            request["chat_template_kwargs"] = ParseJson(kwargs, "--kwargs");
        }

        if (parse.GetValue(_noGenerationPrompt))
        {
            request["add_generation_prompt"] = false;
        }

        try
        {
            using var doc = JsonDocument.Parse(request.ToJsonString());
            return ChatRequestJson.Read(doc.RootElement);
        }
        catch (ChatRequestException e)
        {
            var option = e.Field.StartsWith("tools", StringComparison.Ordinal) ? "--tools" : e.Field.StartsWith("chat_template_kwargs", StringComparison.Ordinal) ? "--kwargs" : "--messages";
            throw Usage($"{option}: {e.Message}");
        }
    }

    private static string ReadFile(string option, string path) =>
        File.Exists(path) ? File.ReadAllText(path) : throw Usage($"{option} {path}: no such file");

    private static JsonNode? ParseJson(string text, string option)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw Usage($"{option}: not valid JSON ({e.Message})");
        }
    }

    private static string RenderJson(ChatPrompt prompt) => Json(w =>
    {
        w.WriteString("prompt", prompt.Text);
        w.WriteString("template", prompt.TemplateName);
        w.WriteStartArray("token_ids");
        foreach (var id in prompt.TokenIds)
        {
            w.WriteNumberValue(id);
        }

        w.WriteEndArray();
    });

    private static string ResultJson(ChatPrompt prompt, RequestOutput o, List<int> tokens, double elapsedMs) => Json(w =>
    {
        w.WriteNumber("prompt_tokens", prompt.TokenIds.Length);
        w.WriteStartArray("token_ids");
        foreach (var id in tokens)
        {
            w.WriteNumberValue(id);
        }

        w.WriteEndArray();
        w.WriteString("text", o.Text);
        w.WriteString("finish_reason", o.FinishReason!.Value.ToContractString());
        w.WriteString("stop_reason", o.StopReason ?? string.Empty);
        w.WriteNumber("completion_tokens", o.Usage.CompletionTokens);
        w.WriteNumber("seed", o.Seed);
        w.WriteNumber("total_ms", Math.Round(elapsedMs, 3));
    });

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
