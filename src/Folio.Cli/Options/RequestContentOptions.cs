using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Cli.CommandLine;
using Folio.Contracts;
using Folio.Engine.Constraints;

namespace Folio.Cli.Options;

/// <summary>
/// What a published request asks for beyond sampling (docs/contract.md section 6): a chat
/// conversation instead of a prompt, an output constraint, the model and a deadline. The fields are
/// added to the request's JSON and the whole request is parsed by <see cref="RequestParser"/>, as the
/// worker parses it, so `folio submit` refuses before publishing what a worker would refuse; its
/// message names the option instead of the JSON field.
/// </summary>
public sealed class RequestContentOptions : IOptionGroup
{
    private readonly FolioOption<string?> _messages = CliOptions.String("--messages", "FILE|-", "a chat request instead of a prompt: a JSON array of {role, content} messages, or an object with messages, tools, add_generation_prompt, continue_final_message, chat_template_kwargs; - reads standard input");
    private readonly FolioOption<string?> _tools = CliOptions.String("--tools", "FILE", "with --messages: a JSON array of OpenAI function tools for the template");
    private readonly FolioOption<string?> _kwargs = CliOptions.String("--kwargs", "JSON", "with --messages: extra template variables, e.g. '{\"enable_thinking\": false}'");
    private readonly FolioOption<string?> _jsonSchema = CliOptions.String("--json-schema", "FILE", "constrain the output to JSON valid against this JSON Schema");
    private readonly FolioOption<bool> _jsonObject = CliOptions.Flag("--json-object", "constrain the output to any JSON object");
    private readonly FolioOption<string?> _regex = CliOptions.String("--regex", "PATTERN", "constrain the output to a full match of this regular expression");
    private readonly FolioOption<string[]> _choice = CliOptions.Repeated("--choice", "TEXT", "constrain the output to one of these strings; give --choice again for each");
    private readonly FolioOption<string?> _grammar = CliOptions.String("--grammar", "FILE", "constrain the output to a sentence of this GBNF grammar (llama.cpp's format)");
    private readonly FolioOption<string?> _model = CliOptions.String("--model", "NAME", "the model the request is for; a worker serving another answers model_not_found");
    private readonly FolioOption<int?> _deadline = CliOptions.OptionalInt("--deadline-seconds", "S", "nobody waits for the answer after this many seconds from now: a worker that takes it later answers deadline_exceeded, one running it then ends it with abort", min: 1);

    public string Title => "Chat, structured output, model and deadline (contract section 6)";

    public IReadOnlyList<IFolioOption> Options => [_messages, _tools, _kwargs, _jsonSchema, _jsonObject, _regex, _choice, _grammar, _model, _deadline];

    /// <summary>Whether --messages was given (then neither --prompt nor --prompt-token-ids may be).</summary>
    public bool HasMessages(ParseResult parse) => parse.GetValue(_messages) is not null;

    /// <summary>The request with these options added, checked as a worker checks it.</summary>
    /// <param name="request">The request built from the prompt and sampling options (not yet checked).</param>
    /// <param name="readStandardInput">Reads standard input when --messages is -.</param>
    public GenerationRequest Apply(ParseResult parse, GenerationRequest request, Func<string> readStandardInput)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(readStandardInput);
        var json = (JsonObject)JsonNode.Parse(RequestSerializer.ToUtf8Json(request))!;
        if (parse.GetValue(_messages) is { } source)
        {
            AddChat(parse, json, source == "-" ? readStandardInput() : ReadFile(_messages.Name, source));
        }
        else if (parse.GetValue(_tools) is not null || parse.GetValue(_kwargs) is not null)
        {
            throw new CliUsageException("--tools and --kwargs go with --messages: give the conversation with --messages FILE");
        }

        AddConstraint(parse, json);
        if (parse.GetValue(_model) is { } model)
        {
            json["model"] = model;
        }

        if (parse.GetValue(_deadline) is { } seconds)
        {
            json["deadline_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (seconds * 1000L);
        }

        var check = RequestParser.Parse(JsonSerializer.SerializeToUtf8Bytes(json));
        if (!check.IsValid)
        {
            throw new CliUsageException(OptionNames(check.Error!.Message));
        }

        ValidateConstraint(check.Request!);
        return check.Request!;
    }

    /// <summary>A constraint the worker could not compile (an unsupported schema keyword, a bad regex) is refused here, as the worker's invalid_request would say it.</summary>
    private void ValidateConstraint(GenerationRequest request)
    {
        if (request.Constraint is not { } constraint)
        {
            return;
        }

        try
        {
            ConstraintCompiler.Validate(ConstraintSpec.For(constraint));
        }
        catch (ConstraintException e)
        {
            throw new CliUsageException(OptionNames($"{constraint.Field}: {e.Message}"));
        }
    }

    private void AddChat(ParseResult parse, JsonObject json, string text)
    {
        var chat = ParseJson(text, _messages.Name) switch
        {
            JsonArray array => new JsonObject { ["messages"] = array },
            JsonObject obj => obj,
            _ => throw new CliUsageException("--messages: the file must hold a JSON array of messages or a chat request object with \"messages\""),
        };
        if (parse.GetValue(_tools) is { } toolsFile)
        {
            chat["tools"] = ParseJson(ReadFile(_tools.Name, toolsFile), _tools.Name);
        }

        if (parse.GetValue(_kwargs) is { } kwargs)
        {
            chat["chat_template_kwargs"] = ParseJson(kwargs, _kwargs.Name);
        }

        json.Remove("prompt");
        json.Remove("prompt_token_ids");
        foreach (var (key, value) in chat.ToList())
        {
            chat.Remove(key);
            json[key] = value;
        }
    }

    private void AddConstraint(ParseResult parse, JsonObject json)
    {
        var given = new List<(string Option, JsonNode Node, bool IsResponseFormat)>();
        if (parse.GetValue(_jsonSchema) is { } schemaFile)
        {
            given.Add((_jsonSchema.Name, new JsonObject { ["json"] = ParseJson(ReadFile(_jsonSchema.Name, schemaFile), _jsonSchema.Name) }, false));
        }

        if (parse.GetValue(_jsonObject))
        {
            given.Add((_jsonObject.Name, new JsonObject { ["type"] = "json_object" }, true));
        }

        if (parse.GetValue(_regex) is { } regex)
        {
            given.Add((_regex.Name, new JsonObject { ["regex"] = regex }, false));
        }

        if (parse.GetValue(_choice) is { Length: > 0 } choices)
        {
            given.Add((_choice.Name, new JsonObject { ["choice"] = new JsonArray([.. choices.Select(c => (JsonNode?)JsonValue.Create(c))]) }, false));
        }

        if (parse.GetValue(_grammar) is { } grammarFile)
        {
            given.Add((_grammar.Name, new JsonObject { ["grammar"] = ReadFile(_grammar.Name, grammarFile) }, false));
        }

        if (given.Count > 1)
        {
            throw new CliUsageException($"give at most one output constraint; got {string.Join(", ", given.Select(g => g.Option))}");
        }

        if (given.Count == 1)
        {
            json[given[0].IsResponseFormat ? "response_format" : "structured_outputs"] = given[0].Node;
        }
    }

    /// <summary>The contract's field names in a parser message, as the options that set them.</summary>
    private string OptionNames(string contractMessage) => SamplingOptions.OptionNames(contractMessage
        .Replace("chat_template_kwargs", _kwargs.Name, StringComparison.Ordinal)
        .Replace("structured_outputs.json", _jsonSchema.Name, StringComparison.Ordinal)
        .Replace("structured_outputs.regex", _regex.Name, StringComparison.Ordinal)
        .Replace("structured_outputs.choice", _choice.Name, StringComparison.Ordinal)
        .Replace("structured_outputs.grammar", _grammar.Name, StringComparison.Ordinal)
        .Replace("deadline_ms", _deadline.Name, StringComparison.Ordinal));

    private static string ReadFile(string option, string path) =>
        File.Exists(path) ? File.ReadAllText(path) : throw new CliUsageException($"{option} {path}: no such file");

    private static JsonNode? ParseJson(string text, string option)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new CliUsageException($"{option}: not valid JSON ({e.Message})");
        }
    }
}
