using System.Reflection;

namespace Folio.Cuda.Kernels;

/// <summary>A kernel source file of native-kernels/, as embedded in this assembly.</summary>
public sealed record KernelSource(string FileName, string Text);

/// <summary>The .cu files and the project header (folio_cuda.h), embedded at build time.</summary>
public static class KernelSources
{
    public const string HeaderName = "folio_cuda.h";
    private const string Prefix = "native-kernels/";

    private static readonly Lazy<(IReadOnlyList<KernelSource> Files, string Header)> All = new(Load);

    /// <summary>Every .cu file, by name.</summary>
    public static IReadOnlyList<KernelSource> Files => All.Value.Files;

    public static string Header => All.Value.Header;

    private static (IReadOnlyList<KernelSource>, string) Load()
    {
        var asm = typeof(KernelSources).Assembly;
        var files = new List<KernelSource>();
        string? header = null;
        foreach (var name in asm.GetManifestResourceNames().Order(StringComparer.Ordinal))
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            string text = Read(asm, name);
            string file = name[Prefix.Length..];
            if (file == HeaderName)
            {
                header = text;
            }
            else if (file.EndsWith(".cu", StringComparison.Ordinal))
            {
                files.Add(new KernelSource(file, text));
            }
        }

        if (header is null || files.Count == 0)
        {
            throw new InvalidOperationException("Folio.Cuda was built without its kernel sources (native-kernels/*.cu and folio_cuda.h as embedded resources)");
        }

        return (files, header);
    }

    private static string Read(Assembly asm, string name)
    {
        using var s = asm.GetManifestResourceStream(name)!;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
