using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using Folio.Cpu;
using Folio.Models;
using Folio.Models.Loading;
using Folio.Testing;

namespace Folio.Cpu.Tests.Isa;

/// <summary>
/// The computation the ISA tests run in the test process and again in child processes with vector
/// instruction sets switched off: a model's logits over mixed batches (prefill chunks beside decode
/// rows, several tile positions) and a whole engine workload's tokens and logprobs, written as text
/// with every float as its bits, so two runs compare bitwise.
/// </summary>
public static class IsaProbe
{
    /// <summary>What the process's JIT uses: the tests check that an environment switch took effect.</summary>
    public static string Features => string.Create(CultureInfo.InvariantCulture, $"V512={Vector512.IsHardwareAccelerated} V256={Vector256.IsHardwareAccelerated} AVX2={Avx2.IsSupported} FMA={Fma.IsSupported} VNNI={AvxVnni.IsSupported}");

    /// <summary>
    /// A model source: "test-f32" or "test-q8_0" (Folio.Testing's random model, vocab 300), or a GGUF path.
    /// </summary>
    public static string Run(string source)
    {
        using var owned = Open(source, out var model);
        var sb = new StringBuilder();
        sb.Append("model ").AppendLine(source);
        using (var runner = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 64, BlockSize = 16, Threads = 2 }))
        {
            int vocab = model.Config.VocabSize;
            var rng = new Random(17);
            int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
            var d = new BatchDriver(runner);
            var a = new TestSequence(Tokens(40), [0, 1, 2]);
            var b = new TestSequence(Tokens(40), [3, 4, 5]);
            var c = new TestSequence(Tokens(40), [6, 7, 8]);
            var steps = new List<List<float[][]>>
            {
                d.Step(new StepPart(a, 21, true), new StepPart(b, 9, true)),
                d.Step(new StepPart(a, 1), new StepPart(b, 5, true), new StepPart(c, 13, true)),
            };
            for (int i = 0; i < 4; i++)
            {
                steps.Add(d.Step(new StepPart(a, 1), new StepPart(b, 1), new StepPart(c, 1)));
            }

            steps.Add(d.Step(new StepPart(b, 1)));
            foreach (var row in steps.SelectMany(s => s).SelectMany(p => p))
            {
                sb.Append('L');
                foreach (float v in row)
                {
                    sb.Append(' ').Append(BitConverter.SingleToInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture));
                }

                sb.AppendLine();
            }
        }

        var workload = EngineHarness.MixedWorkload(8, seed: 5, maxPrompt: 40, maxTokens: 8);
        var results = EngineHarness.Run(workload, runnerFactory: (blocks, blockSize) => new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = blocks, BlockSize = blockSize, Threads = 2 }));
        foreach (var (key, r) in results.OrderBy(r => r.Key.Value))
        {
            sb.Append("R ").Append(key.Value).Append(" tokens ").AppendJoin(',', r.Tokens).Append(" logprobs ")
                .AppendJoin(',', r.Logprobs.Select(l => BitConverter.SingleToInt32Bits(l).ToString("x8", CultureInfo.InvariantCulture)))
                .Append(" top ").AppendJoin(';', r.TopLogprobs.Select(t => string.Join(',', t.Select(x => $"{x.TokenId}:{BitConverter.SingleToInt32Bits(x.Logprob):x8}"))))
                .AppendLine();
        }

        return sb.ToString();
    }

    private static IDisposable Open(string source, out LoadedModel model)
    {
        var shape = TestModel.Shape(hidden: 96, layers: 2, heads: 6, kvHeads: 2, headDim: 16, ffn: 160, vocab: EngineHarness.Vocab) with { AttentionBias = true };
        switch (source)
        {
            case "test-f32":
                var f = TestModel.Create(shape, seed: 31, DType.F32);
                model = f.Model;
                return f;
            case "test-q8_0":
                var q = TestModel.Create(shape with { TieWordEmbeddings = true }, seed: 32, DType.Q8_0);
                model = q.Model;
                return q;
            default:
                model = ModelLoader.Load(source);
                return model;
        }
    }
}
