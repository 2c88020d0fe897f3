using Folio.Cpu;
using Folio.Models.Loading;
using Folio.Testing;

using Folio.ModelTools;

namespace Folio.Cpu.Tests.Oracle;

/// <summary>
/// The same weights written as a Hugging Face folder (rotate-half q/k) and as GGUF (interleaved q/k,
/// llama.cpp's permutation) load into the same model: the CPU runner gives the same logits on both,
/// so the q/k layout and the rope convention are right on both paths.
/// </summary>
public sealed class HuggingFaceAndGgufAgreeTests
{
    public static TheoryData<string> Shapes => new(["gqa", "bias-tied-llama3"]);

    private static TestModelOptions Shape(string name) => name switch
    {
        "gqa" => new TestModelOptions { Dim = 128, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 192, Vocab = 300, Seed = 41 },
        "bias-tied-llama3" => new TestModelOptions { Dim = 96, Layers = 2, Heads = 3, KvHeads = 1, Ffn = 160, Vocab = 320, Seed = 42, Bias = true, Tied = true, Llama3Scaling = true, RopeTheta = 500000f },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Both_formats_give_the_same_logits_at_every_position(string shape)
    {
        var o = Shape(shape);
        using var dir = new TempDir();
        string gguf = dir.File("m.gguf");
        string hf = dir.File("hf");
        TestModelWriter.Write(gguf, TestModelFormat.Gguf, o);
        TestModelWriter.Write(hf, TestModelFormat.HuggingFace, o);
        var rng = new Random(3);
        var tokens = Enumerable.Range(0, 40).Select(_ => rng.Next(o.Vocab)).ToArray();

        float[][] Run(string path, Folio.Models.RopeStyle expectedStyle)
        {
            using var model = ModelLoader.Load(path);
            Assert.Equal(expectedStyle, model.Config.RopeStyle);
            using var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 4, BlockSize = 16, Threads = 2 });
            return new BatchDriver(runner).RunAlone(new TestSequence(tokens, [0, 1, 2]), 40);
        }

        var fromHf = Run(hf, Folio.Models.RopeStyle.RotateHalf);
        var fromGguf = Run(gguf, Folio.Models.RopeStyle.Interleaved);
        double maxAbs = fromHf.SelectMany(r => r).Max(x => Math.Abs((double)x));
        double maxDiff = fromHf.Zip(fromGguf).SelectMany(p => p.First.Zip(p.Second, (a, b) => Math.Abs((double)a - b))).Max();
        Assert.True(maxAbs > 0.1, $"{shape}: degenerate logits");
        Assert.True(maxDiff <= 1e-5 * maxAbs, $"{shape}: max |diff| {maxDiff:E3} between formats, max |logit| {maxAbs:F4}");
    }
}
