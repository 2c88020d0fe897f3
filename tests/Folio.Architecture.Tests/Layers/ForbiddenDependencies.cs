namespace Folio.Architecture.Tests.Layers;

/// <summary>
/// The outside world that only the hosts may know: the queue, the stream store and HTTP serving.
/// The same prefixes name the packages, the assemblies and the namespaces, so a project file, an
/// assembly reference and a type forwarded into another assembly are all caught.
/// </summary>
public static class ForbiddenDependencies
{
    private static readonly string[] Prefixes = ["RabbitMQ.Client", "StackExchange.Redis", "Microsoft.AspNetCore"];

    /// <summary>True for a package, assembly or namespace name under one of the forbidden prefixes.</summary>
    public static bool IsForbidden(string name) =>
        Prefixes.Any(prefix => name.Equals(prefix, StringComparison.Ordinal) || name.StartsWith(prefix + ".", StringComparison.Ordinal));
}
