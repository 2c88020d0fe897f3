using System.CommandLine;
using System.Text.RegularExpressions;
using Folio.Cli.CommandLine;
using Folio.Contracts;

namespace Folio.Cli.Options;

/// <summary>
/// The sampling fields of a contract request (docs/contract.md section 1) as options, with the
/// contract's defaults (<see cref="RequestDefaults"/>). Ranges are the contract's: the request is
/// checked by <see cref="RequestParser"/>, as the worker would check it, and its message is
/// rewritten to name the option instead of the JSON field.
/// </summary>
public sealed partial class SamplingOptions : IOptionGroup
{
    private readonly FolioOption<int> _maxTokens = CliOptions.Int("--max-tokens", "N", "tokens to generate", RequestDefaults.MaxTokens);
    private readonly FolioOption<int> _minTokens = CliOptions.Int("--min-tokens", "N", "tokens before EOS or a stop may end the output", RequestDefaults.MinTokens);
    private readonly FolioOption<double> _temperature = CliOptions.Double("--temperature", "T", "0 is greedy", RequestDefaults.Temperature);
    private readonly FolioOption<double> _topP = CliOptions.Double("--top-p", "P", "nucleus sampling mass", RequestDefaults.TopP);
    private readonly FolioOption<int> _topK = CliOptions.Int("--top-k", "K", "keep the K likeliest tokens; 0 is off", RequestDefaults.TopK);
    private readonly FolioOption<double> _minP = CliOptions.Double("--min-p", "P", "drop tokens below P times the likeliest", RequestDefaults.MinP);
    private readonly FolioOption<double> _repetitionPenalty = CliOptions.Double("--repetition-penalty", "X", "divide the logits of tokens already seen", RequestDefaults.RepetitionPenalty);
    private readonly FolioOption<double> _presencePenalty = CliOptions.Double("--presence-penalty", "X", "subtract from tokens already generated", RequestDefaults.PresencePenalty);
    private readonly FolioOption<double> _frequencyPenalty = CliOptions.Double("--frequency-penalty", "X", "subtract per occurrence in the output", RequestDefaults.FrequencyPenalty);
    private readonly FolioOption<long?> _seed = CliOptions.OptionalLong("--seed", "S", "sampling seed", defaultText: "random; generate --json prints it");
    private readonly FolioOption<string[]> _stop = CliOptions.Repeated("--stop", "TEXT", "a stop string; give --stop again for more");
    private readonly FolioOption<bool> _ignoreEos = CliOptions.Flag("--ignore-eos", "keep going past the end-of-sequence token");
    private readonly FolioOption<int?> _logprobs = CliOptions.OptionalInt("--logprobs", "N", "logprob of each token plus N alternatives");
    private readonly FolioOption<int> _priority = CliOptions.Int("--priority", "N", "lower is served earlier", RequestDefaults.Priority);

    public string Title => "Sampling";

    public IReadOnlyList<IFolioOption> Options =>
    [
        _maxTokens, _minTokens, _temperature, _topP, _topK, _minP, _repetitionPenalty, _presencePenalty,
        _frequencyPenalty, _seed, _stop, _ignoreEos, _logprobs, _priority,
    ];

    /// <summary>The request these options describe, checked as the worker checks it (a usage error names the option).</summary>
    public GenerationRequest ToRequest(ParseResult parse, string requestId, string? prompt, int[]? promptTokenIds)
    {
        var request = Unchecked(parse, requestId, prompt, promptTokenIds);
        var check = RequestParser.Parse(RequestSerializer.ToUtf8Json(request));
        return check.IsValid ? request : throw new CliUsageException(OptionNames(check.Error!.Message));
    }

    /// <summary>The request these options describe, not checked yet (more fields are added before it is: <see cref="RequestContentOptions"/>).</summary>
    public GenerationRequest Unchecked(ParseResult parse, string requestId, string? prompt, int[]? promptTokenIds)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return new GenerationRequest
        {
            RequestId = requestId,
            Prompt = prompt,
            PromptTokenIds = promptTokenIds,
            MaxTokens = parse.GetValue(_maxTokens),
            MinTokens = parse.GetValue(_minTokens),
            Temperature = parse.GetValue(_temperature),
            TopP = parse.GetValue(_topP),
            TopK = parse.GetValue(_topK),
            MinP = parse.GetValue(_minP),
            RepetitionPenalty = parse.GetValue(_repetitionPenalty),
            PresencePenalty = parse.GetValue(_presencePenalty),
            FrequencyPenalty = parse.GetValue(_frequencyPenalty),
            Seed = parse.GetValue(_seed),
            Stop = parse.GetValue(_stop) ?? [],
            IgnoreEos = parse.GetValue(_ignoreEos),
            Logprobs = parse.GetValue(_logprobs),
            Priority = parse.GetValue(_priority),
        };
    }

    /// <summary>"max_tokens must be ..." becomes "--max-tokens must be ...".</summary>
    internal static string OptionNames(string contractMessage) =>
        ContractField().Replace(contractMessage, m => "--" + m.Value.Replace('_', '-'));

    [GeneratedRegex(@"\b(max_tokens|min_tokens|temperature|top_p|top_k|min_p|repetition_penalty|presence_penalty|frequency_penalty|seed|stop|ignore_eos|logprobs|priority|request_id|prompt_token_ids|prompt)\b")]
    private static partial Regex ContractField();
}
