namespace Folio.Cli.CommandLine;

/// <summary>
/// Failures a user meets at run time and can act on from the message alone (exit code 1, one line):
/// a model file that is not valid, a file that is missing, a server that does not answer. Anything
/// else is a bug and is printed with its stack trace.
/// </summary>
internal static class RuntimeFailures
{
    public static bool IsExpected(Exception e) => e switch
    {
        Folio.Models.ModelFormatException => true,
        Folio.Cuda.Interop.CudaUnavailableException => true,
        IOException or UnauthorizedAccessException => true,
        // Commands throw these on purpose with a message for the user (a worker that exited, a
        // benchmark run that did not finish every request).
        InvalidOperationException => true,
        // The broker refused or returned a request: the message says what to do (queue_full, model_not_found).
        Folio.Client.QueueFullException or Folio.Client.ModelNotRoutedException or Folio.Client.RequestNotRoutedException => true,
        TimeoutException => true,
        _ => IsServerFailure(e),
    };

    public static string Describe(Exception e) => IsServerFailure(e)
        ? $"cannot reach or use the server: {Innermost(e).Message} (check --rabbitmq / --redis, or the worker's environment variables)"
        : e.Message;

    /// <summary>RabbitMQ or Redis refused, dropped or never answered the connection.</summary>
    private static bool IsServerFailure(Exception e) =>
        e.GetType().Namespace is { } ns && (ns.StartsWith("RabbitMQ.Client", StringComparison.Ordinal) || ns.StartsWith("StackExchange.Redis", StringComparison.Ordinal))
        || e is System.Net.Sockets.SocketException;

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }
}
