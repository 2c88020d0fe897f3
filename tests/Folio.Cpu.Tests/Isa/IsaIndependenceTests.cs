using System.Runtime.Intrinsics;
using Folio.Cpu.Tests.Support;
using Folio.ModelTools;
using Folio.Testing;

namespace Folio.Cpu.Tests.Isa;

/// <summary>
/// Determinism across CPUs (issue 9): the same requests give bitwise the same logits, tokens and
/// logprobs whatever vector instructions the machine has. The test process (all of this machine's
/// instruction sets) and child processes started with AVX-512 off, with AVX-VNNI off as well, and
/// with AVX2 off (scalar kernels; .NET 10 then drops FMA and AVX-512 too) run <see cref="IsaProbe"/>
/// on f32, q8_0 and llama.cpp-quantized models covering every code layout, and must write the same
/// bits. Each child reports what its JIT uses, so a switch that did not take effect fails the test
/// instead of comparing a configuration with itself. (.NET 10 reads DOTNET_EnableAVX512; the older
/// DOTNET_EnableAVX512F is set too, for runtimes that read that one.)
/// </summary>
public sealed class IsaIndependenceTests
{
    private static readonly TestModelOptions Shape = new() { Dim = 256, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 512, Vocab = EngineHarness.Vocab, Seed = 61 };

    /// <summary>Mixes that between them use every code layout and scale kind of the int8 kernels.</summary>
    private static readonly string[] Mixes = ["Q4_K_M", "Q3_K_M", "Q2_K", "IQ4_XS", "IQ4_NL", "Q5_1", "Q4_0", "Q5_0"];

    public static TheoryData<string> Configurations => new(["avx512-off", "vnni-off", "avx2-off"]);

    private static string[] Sources() => ["test-f32", "test-q8_0", .. Mixes.Select(m => QuantizedTestModels.Get("isa", Shape, m)), .. ArchitectureModels.Value];

    /// <summary>
    /// A Gemma 2 (tanh gelu, soft-caps, sliding window) and a Qwen3-MoE (q/k norms, routing) GGUF, so
    /// the element-wise routines and the expert grouping are checked across vector widths too. Written
    /// once per process to fixed paths, so parent and child name the same source.
    /// </summary>
    private static readonly Lazy<string[]> ArchitectureModels = new(() =>
    {
        string dir = Path.Combine(Path.GetTempPath(), $"folio-isa-arch-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        var models = new (string Name, TestModelOptions Options)[]
        {
            ("gemma2", new TestModelOptions { Arch = TestArchitecture.Gemma2, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 96, Vocab = EngineHarness.Vocab, Seed = 71, SlidingWindow = 8, AttentionSoftcap = 0.5f, FinalSoftcap = 4f }),
            ("qwen3moe", new TestModelOptions { Arch = TestArchitecture.Qwen3Moe, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 32, Ffn = 64, Vocab = EngineHarness.Vocab, Seed = 72, Experts = 6, ExpertsPerToken = 2 }),
        };
        return models.Select(m =>
        {
            string path = Path.Combine(dir, m.Name + ".gguf");
            TestModelWriter.Write(path, TestModelFormat.Gguf, m.Options);
            return path;
        }).ToArray();
    });

    private static readonly Lazy<string> Parent = new(() => IsaProbe.Features + "\n" + string.Concat(Sources().Select(IsaProbe.Run)));

    [Theory]
    [MemberData(nameof(Configurations))]
    public void A_child_with_fewer_vector_instructions_computes_the_same_bits(string configuration)
    {
        var env = configuration switch
        {
            "avx512-off" => new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0", ["DOTNET_EnableAVX512F"] = "0" },
            "vnni-off" => new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0", ["DOTNET_EnableAVX512F"] = "0", ["DOTNET_EnableAVXVNNI"] = "0" },
            _ => new Dictionary<string, string> { ["DOTNET_EnableAVX2"] = "0" },
        };
        string expected = Parent.Value;
        using var dir = new TempDir();
        string output = dir.File("probe.txt");
        RunChild(env, output, Sources());
        var child = File.ReadAllLines(output);
        var parent = expected.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        string features = child[0];
        Assert.Contains("V512=False", features);
        if (configuration == "vnni-off")
        {
            Assert.Contains("VNNI=False", features);
        }

        if (configuration == "avx2-off")
        {
            Assert.Contains("AVX2=False", features);
            Assert.Contains("V256=False", features);
        }

        Assert.True(Vector512.IsHardwareAccelerated || configuration != "avx512-off" || parent[0] != features, $"parent and child both run {features}: nothing would be compared");
        Assert.Equal(parent.Length, child.Length);
        for (int i = 1; i < parent.Length; i++)
        {
            if (parent[i] != child[i])
            {
                string model = parent.Take(i + 1).Last(l => l.StartsWith("model ", StringComparison.Ordinal));
                Assert.Fail($"{configuration} ({features}) differs from the parent ({parent[0]}) at line {i} of {model}:\nparent: {Shorten(parent[i])}\nchild:  {Shorten(child[i])}");
            }
        }
    }

    private static string Shorten(string line) => line.Length > 300 ? line[..300] + "..." : line;

    private static void RunChild(Dictionary<string, string> env, string output, string[] sources) =>
        ChildProcess.Run(env, TimeSpan.FromMinutes(8), ["isa-probe", output, .. sources]);
}
