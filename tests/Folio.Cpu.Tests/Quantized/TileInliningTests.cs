using System.Diagnostics;
using System.Reflection;
using System.Runtime.Intrinsics.X86;
using Folio.Cpu.Quantized;
using Folio.Cpu.Tests.Isa;
using Folio.Testing;

namespace Folio.Cpu.Tests.Quantized;

/// <summary>
/// Guards the int8 tiles' speed against the JIT's inlining budget. A tile's dot loop is fast only
/// when every helper it calls (code decoding, the dot product, the group end) is inlined into it,
/// and the JIT stops inlining once a method's inlinees pass a budget, silently: adding two small
/// branches to the group end once left GroupRow, GroupScale and Vector256.Load as calls inside the
/// Q4_K and Q6_K tiles, at about half their speed, with every result still bitwise right. A child
/// process compiles every tile (all formats, 1, 2 and 4 rows) with <c>DOTNET_JitDisasm</c> and this
/// test reads the code: the only calls a tile or a super-block end may make are the two kept out of
/// line on purpose (<c>FinishSuperBlocks</c>, once per 16 super-blocks, and <c>StoreRows</c>, once per
/// tile) and the runtime's helpers.
/// </summary>
public sealed class TileInliningTests
{
    private static readonly string[] AllowedCallees = ["QuantGemm:FinishSuperBlocks[", "QuantGemm:StoreRows[", "CORINFO_HELP_"];

    public static TheoryData<string> Configurations => new(["this-machine", "avx2"]);

    [OptimizedBuildTheory]
    [MemberData(nameof(Configurations))]
    public void Every_int8_tile_has_its_helpers_inlined(string configuration)
    {
        Assert.True(Avx2.IsSupported, "the int8 tiles need AVX2; this machine runs the scalar kernel");
        Assert.NotEmpty(TileJitProbe.Types);
        using var dir = new TempDir();
        string listing = dir.File("tiles.asm");
        var env = new Dictionary<string, string>
        {
            // Straight to optimized code, as a tile runs once tiering has promoted it.
            ["DOTNET_TieredCompilation"] = "0",
            ["DOTNET_JitDisasm"] = "Tile FinishSuperBlocks",
            ["DOTNET_JitStdOutFile"] = listing,
        };
        if (configuration == "avx2")
        {
            env["DOTNET_EnableAVX512"] = "0";
            env["DOTNET_EnableAVX512F"] = "0";
            env["DOTNET_EnableAVXVNNI"] = "0";
        }

        ChildProcess.Run(env, TimeSpan.FromMinutes(3), "tile-jit");
        var methods = ParseListing(File.ReadAllLines(listing));

        string dot = configuration == "avx2" || !AvxVnni.IsSupported ? nameof(Avx2Dot) : nameof(VnniDot);
        int tiles = methods.Keys.Count(m => m.Contains("QuantGemm:Tile[", StringComparison.Ordinal) && m.Contains(dot, StringComparison.Ordinal));
        Assert.True(tiles == TileJitProbe.Types.Length * 3, $"expected {TileJitProbe.Types.Length * 3} {dot} tiles in the listing, found {tiles}: {string.Join(", ", methods.Keys)}");

        var offenders = methods
            .Where(m => m.Key.Contains("Folio.Cpu.Quantized.QuantGemm:", StringComparison.Ordinal))
            .SelectMany(m => m.Value.Where(c => !AllowedCallees.Any(a => c.Contains(a, StringComparison.Ordinal))).Select(c => $"{Shorten(m.Key)} calls {Shorten(c)}"))
            .Distinct()
            .ToList();
        Assert.True(offenders.Count == 0, $"{offenders.Count} helper calls were not inlined (the JIT's inlining budget ran out: make the tile's code smaller, or move work out of line as FinishSuperBlocks is):\n{string.Join('\n', offenders)}");
    }

    /// <summary>Method name → the targets of its call instructions, from the JIT's disassembly listing.</summary>
    private static Dictionary<string, List<string>> ParseListing(string[] lines)
    {
        const string header = "; Assembly listing for method ";
        var methods = new Dictionary<string, List<string>>();
        List<string>? current = null;
        foreach (string line in lines)
        {
            if (line.StartsWith(header, StringComparison.Ordinal))
            {
                current = [];
                methods[line[header.Length..]] = current;
                continue;
            }

            string code = line.TrimStart();
            if (current is not null && code.StartsWith("call ", StringComparison.Ordinal))
            {
                current.Add(code["call ".Length..].Trim());
            }
        }

        return methods;
    }

    private static string Shorten(string s) => s.Replace("Folio.Cpu.Quantized.", "", StringComparison.Ordinal);
}

/// <summary>
/// A theory that means something only when the code under test is JIT-optimized: in a Debug build
/// the JIT inlines nothing, so it is skipped there with a hint, except under CI=true (./test.sh
/// builds Release), where it runs and fails.
/// </summary>
public sealed class OptimizedBuildTheoryAttribute : TheoryAttribute
{
    public OptimizedBuildTheoryAttribute()
    {
        bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        bool optimized = typeof(QuantGemm).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled != true;
        if (!ci && !optimized)
        {
            Skip = "Folio.Cpu is a Debug build, which the JIT does not optimize; run with -c Release (CI=true makes this a failure)";
        }
    }
}
