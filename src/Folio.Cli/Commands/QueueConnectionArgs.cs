using Folio.Client;

namespace Folio.Cli.Commands;

/// <summary>
/// The connection options shared by submit, tail and bench queue: --rabbitmq, --redis, --queue,
/// --stream-prefix, defaulting to the worker's environment variables (Folio__RabbitMq__Uri,
/// Folio__Redis__Configuration, ...) and then to local servers.
/// </summary>
internal static class QueueConnectionArgs
{
    public const string Usage = """
          --rabbitmq URI         RabbitMQ (default: $Folio__RabbitMq__Uri or amqp://guest:guest@127.0.0.1:5672/)
          --redis CONFIG         Redis configuration string (default: $Folio__Redis__Configuration or 127.0.0.1:6379)
          --queue NAME           request queue (default: $Folio__RabbitMq__RequestQueue or folio.requests)
          --stream-prefix P      stream key prefix (default: $Folio__Redis__StreamPrefix or folio:stream:)
        """;

    public static FolioClientOptions Read(CliArgs args)
    {
        var o = new FolioClientOptions();
        o.RabbitMqUri = args.String("rabbitmq") ?? Env("Folio__RabbitMq__Uri") ?? o.RabbitMqUri;
        o.RedisConfiguration = args.String("redis") ?? Env("Folio__Redis__Configuration") ?? o.RedisConfiguration;
        o.RequestQueue = args.String("queue") ?? Env("Folio__RabbitMq__RequestQueue") ?? o.RequestQueue;
        o.CancelExchange = Env("Folio__RabbitMq__CancelExchange") ?? o.CancelExchange;
        o.StreamPrefix = args.String("stream-prefix") ?? Env("Folio__Redis__StreamPrefix") ?? o.StreamPrefix;
        return o;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
