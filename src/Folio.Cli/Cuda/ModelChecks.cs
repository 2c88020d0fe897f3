using Folio.Cpu;
using Folio.Cuda.Runner;
using Folio.Engine.Execution;
using Folio.Models;

using Folio.Cuda;

namespace Folio.Cli.Cuda;

/// <summary>
/// The whole model on CUDA against the CPU backend on the same weights: a prefill's logits, then
/// teacher-forced decode steps (both fed the CPU's greedy token, so they stay comparable), then a
/// free-running greedy generation on each. CUDA computes with bf16 weights and cache, the CPU in
/// f32, so logits are compared relative to their range and tokens by agreement.
/// </summary>
public static class ModelChecks
{
    public static IEnumerable<CheckResult> Run(LoadedModel model, CudaRunnerOptions options, int promptLength = 37, int steps = 16)
    {
        var c = model.Config;
        int blockSize = options.BlockSize;
        int maxLen = promptLength + steps + 1;
        int blocksPerSeq = (maxLen + blockSize - 1) / blockSize;
        int seqs = 3;
        var rng = new Random(99);
        var prompt = Enumerable.Range(0, promptLength).Select(_ => rng.Next(c.VocabSize)).ToArray();

        using var cpu = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = seqs * blocksPerSeq, BlockSize = blockSize, Threads = Environment.ProcessorCount });
        using var gpu = new CudaModelRunner(model, options with { NumBlocksOverride = seqs * blocksPerSeq, MaxModelLen = Math.Max(maxLen, 64), GraphBatchSizes = [1, 4] });
        var results = new List<CheckResult>();

        var table = Enumerable.Range(0, blocksPerSeq).ToArray();
        var cpuLogits = new float[c.VocabSize];
        var gpuLogits = new float[c.VocabSize];
        var batch = new ForwardBatch(Math.Max(promptLength, seqs), seqs, blocksPerSeq);

        batch.Clear();
        batch.AddSequence(prompt, 0, table, blockSize, wantLogits: true);
        cpu.Forward(batch, cpuLogits);
        gpu.Forward(batch, gpuLogits);
        results.Add(CompareLogits($"prefill of {promptLength} tokens: logits", cpuLogits, gpuLogits));

        int agree = 0;
        double worst = 0;
        var tokens = new List<int>(prompt);
        for (int i = 0; i < steps; i++)
        {
            int next = Argmax(cpuLogits);
            agree += Argmax(gpuLogits) == next ? 1 : 0;
            tokens.Add(next);
            batch.Clear();
            batch.AddSequence([next], tokens.Count - 1, table, blockSize, wantLogits: true);
            cpu.Forward(batch, cpuLogits);
            gpu.Forward(batch, gpuLogits);
            worst = Math.Max(worst, RelativeError(cpuLogits, gpuLogits));
        }

        results.Add(new CheckResult($"{steps} teacher-forced decode steps ({(gpu.GraphBatchSizes.Count > 0 ? "CUDA graph" : "no graph")}, batch 1): logits", worst <= 0.05, worst, 0.05, $"greedy agreement {agree}/{steps}"));
        results.Add(new CheckResult("greedy token agreement in those steps", agree >= steps * 0.9, steps - agree, steps * 0.1, $"{agree}/{steps}"));

        // Batch independence: sequence 0 decoded alone and beside two others gives the same logits.
        var alone = new float[c.VocabSize];
        var together = new float[3 * c.VocabSize];
        int last = tokens[^1];
        batch.Clear();
        batch.AddSequence([last], tokens.Count - 1, table, blockSize, wantLogits: true);
        gpu.Forward(batch, alone);
        batch.Clear();
        batch.AddSequence([last], tokens.Count - 1, table, blockSize, wantLogits: true);
        var other = Enumerable.Range(blocksPerSeq, blocksPerSeq).ToArray();
        batch.AddSequence([1], 0, other, blockSize, wantLogits: true);
        var third = Enumerable.Range(2 * blocksPerSeq, blocksPerSeq).ToArray();
        batch.AddSequence([2], 0, third, blockSize, wantLogits: true);
        gpu.Forward(batch, together);
        double diff = RelativeError(alone, together.AsSpan(0, c.VocabSize));
        results.Add(new CheckResult("batch independence (alone vs beside 2 others)", diff <= 1e-3, diff, 1e-3, diff == 0 ? "bitwise identical" : "differs (cuBLAS picks kernels by batch size)"));
        return results;
    }

    private static CheckResult CompareLogits(string name, float[] cpu, float[] gpu)
    {
        double rel = RelativeError(cpu, gpu);
        return new CheckResult(name, rel <= 0.05 && Argmax(cpu) == Argmax(gpu), rel, 0.05, $"argmax cpu {Argmax(cpu)} cuda {Argmax(gpu)}");
    }

    /// <summary>max |a - b| over the range of a's values.</summary>
    private static double RelativeError(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double maxDiff = 0, lo = double.MaxValue, hi = double.MinValue;
        for (int i = 0; i < a.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)a[i] - b[i]));
            lo = Math.Min(lo, a[i]);
            hi = Math.Max(hi, a[i]);
        }

        return double.IsNaN(maxDiff) ? double.PositiveInfinity : maxDiff / Math.Max(hi - lo, 1e-6);
    }

    private static int Argmax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++)
        {
            if (x[i] > x[best])
            {
                best = i;
            }
        }

        return best;
    }
}
