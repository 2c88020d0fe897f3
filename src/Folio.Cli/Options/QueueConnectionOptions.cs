using System.CommandLine;
using Folio.Cli.CommandLine;
using Folio.Client;
using Folio.Contracts;

namespace Folio.Cli.Options;

/// <summary>
/// Where the queue and the streams are (submit, tail, bench queue). Each option falls back to the
/// worker's environment variable of the same setting, then to local servers, so that a shell set
/// up for a worker needs no options.
/// </summary>
public sealed class QueueConnectionOptions : IOptionGroup
{
    private readonly FolioOption<string?> _rabbitMq = CliOptions.String("--rabbitmq", "URI", "RabbitMQ (a cluster: its nodes' URIs separated by commas)", defaultText: "$Folio__RabbitMq__Uri, else amqp://guest:guest@127.0.0.1:5672/");
    private readonly FolioOption<string?> _redis = CliOptions.String("--redis", "CONFIG", "Redis configuration string", defaultText: "$Folio__Redis__Configuration, else 127.0.0.1:6379");
    private readonly FolioOption<string?> _queue = CliOptions.String("--queue", "NAME", "request queue", defaultText: "$Folio__RabbitMq__RequestQueue, else folio.requests");
    private readonly FolioOption<string?> _streamPrefix = CliOptions.String("--stream-prefix", "PREFIX", "stream key prefix", defaultText: "$Folio__Redis__StreamPrefix, else folio:stream:");

    private readonly FolioOption<int?> _tiers = CliOptions.OptionalInt("--priority-tiers", "N", "request queue tiers, as the workers' (a request goes to {queue}.p{tier} by its priority)", defaultText: "$Folio__RabbitMq__PriorityTiers, else 1", min: 1, max: PriorityTiers.Max);
    private readonly FolioOption<long?> _maxLength = CliOptions.OptionalLong("--max-length", "N", "x-max-length the request queues are declared with, as the workers' (0: unbounded)", defaultText: "$Folio__RabbitMq__MaxLength, else 0");
    private readonly FolioOption<long?> _maxLengthBytes = CliOptions.OptionalLong("--max-length-bytes", "N", "x-max-length-bytes the request queues are declared with, as the workers' (0: unbounded)", defaultText: "$Folio__RabbitMq__MaxLengthBytes, else 0");
    private readonly FolioOption<string?> _modelExchange = CliOptions.String("--model-exchange", "NAME", "the model exchange: a request naming a model is routed by that name (several models on one broker)", defaultText: "$Folio__RabbitMq__ModelExchange, else none");

    public string Title => "Queue connection";

    public IReadOnlyList<IFolioOption> Options => [_rabbitMq, _redis, _queue, _streamPrefix, _tiers, _maxLength, _maxLengthBytes, _modelExchange];

    public FolioClientOptions Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var o = new FolioClientOptions();
        o.RabbitMqUri = parse.GetValue(_rabbitMq) ?? Env("Folio__RabbitMq__Uri") ?? o.RabbitMqUri;
        o.RedisConfiguration = parse.GetValue(_redis) ?? Env("Folio__Redis__Configuration") ?? o.RedisConfiguration;
        o.RequestQueue = parse.GetValue(_queue) ?? Env("Folio__RabbitMq__RequestQueue") ?? o.RequestQueue;
        o.CancelExchange = Env("Folio__RabbitMq__CancelExchange") ?? o.CancelExchange;
        o.StreamPrefix = parse.GetValue(_streamPrefix) ?? Env("Folio__Redis__StreamPrefix") ?? o.StreamPrefix;
        o.PriorityTiers = parse.GetValue(_tiers) ?? EnvNumber("Folio__RabbitMq__PriorityTiers", "--priority-tiers", 1, PriorityTiers.Max) ?? o.PriorityTiers;
        o.MaxLength = parse.GetValue(_maxLength) ?? EnvNumber("Folio__RabbitMq__MaxLength", "--max-length", 0, long.MaxValue) ?? o.MaxLength;
        o.MaxLengthBytes = parse.GetValue(_maxLengthBytes) ?? EnvNumber("Folio__RabbitMq__MaxLengthBytes", "--max-length-bytes", 0, long.MaxValue) ?? o.MaxLengthBytes;
        o.ModelExchange = parse.GetValue(_modelExchange) ?? Env("Folio__RabbitMq__ModelExchange") ?? o.ModelExchange;
        if (o.MaxLength < 0 || o.MaxLengthBytes < 0)
        {
            throw new CliUsageException("--max-length and --max-length-bytes must be >= 0 (0: unbounded)");
        }
        try
        {
            // One URI or a cluster's nodes separated by commas; the message never quotes the value (it may hold a password).
            Folio.Contracts.BrokerUris.Parse(o.RabbitMqUri, "--rabbitmq");
        }
        catch (FormatException e)
        {
            throw new CliUsageException(e.Message);
        }

        return o;
    }

    /// <summary>A number from the worker's environment variable, checked as the option would be.</summary>
    private static int? EnvNumber(string name, string option, int min, int max) =>
        EnvNumber(name, option, (long)min, max) is { } v ? (int)v : null;

    private static long? EnvNumber(string name, string option, long min, long max)
    {
        if (Env(name) is not { } text)
        {
            return null;
        }

        return long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long v) && v >= min && v <= max
            ? v
            : throw new CliUsageException($"{name} (the default of {option}) must be an integer {min}-{max}; got '{text}'");
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
