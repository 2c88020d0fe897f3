using System.CommandLine;
using Folio.Cli.CommandLine;
using Folio.Client;

namespace Folio.Cli.Options;

/// <summary>
/// Where the queue and the streams are (submit, tail, bench queue). Each option falls back to the
/// worker's environment variable of the same setting, then to local servers, so that a shell set
/// up for a worker needs no options.
/// </summary>
public sealed class QueueConnectionOptions : IOptionGroup
{
    private readonly FolioOption<string?> _rabbitMq = CliOptions.String("--rabbitmq", "URI", "RabbitMQ", defaultText: "$Folio__RabbitMq__Uri, else amqp://guest:guest@127.0.0.1:5672/");
    private readonly FolioOption<string?> _redis = CliOptions.String("--redis", "CONFIG", "Redis configuration string", defaultText: "$Folio__Redis__Configuration, else 127.0.0.1:6379");
    private readonly FolioOption<string?> _queue = CliOptions.String("--queue", "NAME", "request queue", defaultText: "$Folio__RabbitMq__RequestQueue, else folio.requests");
    private readonly FolioOption<string?> _streamPrefix = CliOptions.String("--stream-prefix", "PREFIX", "stream key prefix", defaultText: "$Folio__Redis__StreamPrefix, else folio:stream:");

    public string Title => "Queue connection";

    public IReadOnlyList<IFolioOption> Options => [_rabbitMq, _redis, _queue, _streamPrefix];

    public FolioClientOptions Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var o = new FolioClientOptions();
        o.RabbitMqUri = parse.GetValue(_rabbitMq) ?? Env("Folio__RabbitMq__Uri") ?? o.RabbitMqUri;
        o.RedisConfiguration = parse.GetValue(_redis) ?? Env("Folio__Redis__Configuration") ?? o.RedisConfiguration;
        o.RequestQueue = parse.GetValue(_queue) ?? Env("Folio__RabbitMq__RequestQueue") ?? o.RequestQueue;
        o.CancelExchange = Env("Folio__RabbitMq__CancelExchange") ?? o.CancelExchange;
        o.StreamPrefix = parse.GetValue(_streamPrefix) ?? Env("Folio__Redis__StreamPrefix") ?? o.StreamPrefix;
        if (!Uri.TryCreate(o.RabbitMqUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
        {
            throw new CliUsageException($"--rabbitmq must be an amqp:// or amqps:// URI; got '{o.RabbitMqUri}'");
        }

        return o;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
