using System.Collections.Concurrent;

namespace Folio.Gateway;

/// <summary>The playground page and the OpenAPI document, served from the assembly (no files to deploy, no build step).</summary>
internal static class EmbeddedFiles
{
    private static readonly ConcurrentDictionary<string, byte[]> Cache = new(StringComparer.Ordinal);

    public static byte[] Read(string name) => Cache.GetOrAdd(name, n =>
    {
        using var s = typeof(EmbeddedFiles).Assembly.GetManifestResourceStream("Folio.Gateway." + n) ?? throw new InvalidOperationException("missing embedded resource " + n);
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    });

    public static IResult Result(string name, string contentType) => Results.Bytes(Read(name), contentType);
}
