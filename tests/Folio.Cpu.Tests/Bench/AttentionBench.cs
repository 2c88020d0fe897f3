using System.Diagnostics;

namespace Folio.Cpu.Tests.Bench;

/// <summary>
/// <c>dotnet Folio.Cpu.Tests.dll attention-bench [POSITIONS] [cold]</c>: one decode token's attention
/// on the bench model's shape (12 layers, 16 query heads over 4 KV heads of 64, blocks of 16), one
/// thread, <see cref="AttentionKernelBaseline"/> (the walk before its prefetch, one query head at a
/// time) and the current <see cref="AttentionKernel"/> (each KV head's four query heads in one walk,
/// as the runner calls it) taking turns round by round, best round kept; <c>cold</c> sweeps 64 MB through the caches before
/// each round, as a decode step's weights do. Checks that both agree to rounding (the softmax's sum
/// now runs in sixteen lanes). Run it with
/// <c>DOTNET_TieredCompilation=0</c>, or the first rounds time unoptimized code.
/// </summary>
internal static unsafe class AttentionBench
{
    private const int HeadDim = 64, KvHeads = 4, Heads = 16, Group = Heads / KvHeads, BlockSize = 16, Layers = 12, Rounds = 300;

    public static void Run(TextWriter output, int positions, bool cold)
    {
        int kvDim = KvHeads * HeadDim;
        int blocks = (positions + BlockSize - 1) / BlockSize;
        long layerElements = (long)blocks * BlockSize * kvDim;
        using var k = new NativeBuffer(Layers * layerElements);
        using var v = new NativeBuffer(Layers * layerElements);
        using var q = new NativeBuffer(Heads * HeadDim);
        using var scores = new NativeBuffer(Group * positions);
        using var current = new NativeBuffer(Layers * Heads * HeadDim);
        using var baseline = new NativeBuffer(Layers * Heads * HeadDim);
        using var sweep = new NativeBuffer(cold ? 16L << 20 : 1);
        var rng = new Random(1);
        for (long i = 0; i < k.Capacity; i++)
        {
            k.Pointer[i] = (float)(rng.NextDouble() - 0.5);
            v.Pointer[i] = (float)(rng.NextDouble() - 0.5);
        }

        for (int i = 0; i < Heads * HeadDim; i++)
        {
            q.Pointer[i] = (float)(rng.NextDouble() - 0.5);
        }

        // Blocks in reverse order, so that the block table is really followed.
        int[] table = Enumerable.Range(0, blocks).Reverse().ToArray();
        float* currentOut = current.Pointer, baselineOut = baseline.Pointer;
        double bestOld = double.MaxValue, bestNew = double.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            bestOld = Math.Min(bestOld, Time(baseline: true));
            bestNew = Math.Min(bestNew, Time(baseline: false));
        }

        // The softmax's sum now runs in sixteen lanes (VectorMath.Sum) where the baseline adds key by
        // key, so the two agree to rounding, not to the bit.
        double worst = 0;
        for (long i = 0; i < current.Capacity; i++)
        {
            double a = current.Pointer[i], b = baseline.Pointer[i];
            double error = Math.Abs(a - b) / Math.Max(1e-3, Math.Abs(b));
            worst = Math.Max(worst, error);
            if (!(error <= 1e-5))
            {
                throw new InvalidOperationException($"output {i}: {a} against the baseline's {b}");
            }
        }

        output.WriteLine($"attention of one decode token, {Layers} layers x {Heads} heads (head {HeadDim}, {KvHeads} KV heads), {positions} positions, one thread, best of {Rounds} rounds{(cold ? ", caches swept before each" : "")}");
        output.WriteLine($"largest difference from the baseline, relative: {worst:E1}");
        output.WriteLine($"| baseline (129c5de) | current | speed-up | current ns per key and head |");
        output.WriteLine($"| ---: | ---: | ---: | ---: |");
        output.WriteLine($"| {bestOld:F1} us | {bestNew:F1} us | {bestOld / bestNew:F2}x | {bestNew * 1000 / (Layers * Heads * positions):F1} |");

        double Time(bool baseline)
        {
            if (cold)
            {
                for (long i = 0; i < sweep.Capacity; i += 16)
                {
                    sweep.Pointer[i] += 1;
                }
            }

            long start = Stopwatch.GetTimestamp();
            fixed (int* t = table)
            {
                for (int l = 0; l < Layers; l++)
                {
                    float* kl = k.Pointer + (l * layerElements), vl = v.Pointer + (l * layerElements);
                    if (baseline)
                    {
                        for (int h = 0; h < Heads; h++)
                        {
                            float* o = baselineOut + (((l * Heads) + h) * HeadDim);
                            int kvOffset = h / Group * HeadDim;
                            AttentionKernelBaseline.AttendOne(q.Pointer + (h * HeadDim), kl, vl, t, BlockSize, kvOffset, kvDim, HeadDim, 0, positions, 0.125f, 0f, scores.Pointer, o);
                        }

                        continue;
                    }

                    // The runner's way: each KV head's group of query heads in one walk.
                    for (int g = 0; g < KvHeads; g++)
                    {
                        float* o = currentOut + (((l * Heads) + (g * Group)) * HeadDim);
                        AttentionKernel.AttendGroup(q.Pointer + (g * Group * HeadDim), Group, kl, vl, t, BlockSize, g * HeadDim, kvDim, HeadDim, 0, positions, 0.125f, 0f, scores.Pointer, o);
                    }
                }
            }

            return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
    }
}
