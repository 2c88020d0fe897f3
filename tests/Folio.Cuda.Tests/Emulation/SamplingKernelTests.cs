using Folio.Cuda.Kernels;
using Folio.Cuda.Tests.Reference;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>sampling.cu through the emulation against the sort-based float64 rule of <see cref="SamplingReference"/>.</summary>
public sealed unsafe class SamplingKernelTests
{
    public SamplingKernelTests() => EmuLibrary.EnsureLoaded();

    [Fact]
    public void Argmax_picks_the_largest_logit_and_the_lowest_id_on_ties()
    {
        var rng = new Random(2);
        int rows = 4, vocab = 3001;
        var logits = Rand.Uniform(rng, rows * vocab, 10f);
        logits[(1 * vocab) + 2000] = 50f;
        logits[(1 * vocab) + 700] = 50f;   // tie: 700 must win
        logits[(2 * vocab) + 3000] = 60f;  // the very last id
        var output = new int[rows];
        fixed (float* l = logits)
        fixed (int* o = output)
        {
            EmuKernels.Argmax(rows, 1, 1, KernelShapes.SampleThreads, 0, o, l, vocab);
        }

        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(SamplingReference.Argmax(logits.AsSpan(r * vocab, vocab)), output[r]);
        }

        Assert.Equal(700, output[1]);
        Assert.Equal(3000, output[2]);
    }

    [Fact]
    public void Sample_follows_temperature_top_k_top_p_min_p_and_the_uniform_draw()
    {
        var rng = new Random(77);
        int vocab = 1000;
        // (temperature, top_k, top_p, min_p) combinations, each tried with several uniforms
        (float T, int K, float P, float M)[] settings =
        [
            (1f, 0, 1f, 0f), (0.7f, 50, 1f, 0f), (1f, 0, 0.9f, 0f), (1.3f, 20, 0.8f, 0f), (1f, 0, 1f, 0.05f),
            (0.5f, 5, 0.5f, 0.1f), (0f, 0, 1f, 0f), (2f, 1, 1f, 0f), (1f, 999, 0.99f, 0f),
        ];
        int perSetting = 2;
        int rows = settings.Length * perSetting;
        var logits = Rand.Uniform(rng, rows * vocab, 6f);
        var temperature = new float[rows];
        var topK = new int[rows];
        var topP = new float[rows];
        var minP = new float[rows];
        var uniforms = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var s = settings[r / perSetting];
            (temperature[r], topK[r], topP[r], minP[r]) = s;
            uniforms[r] = (float)rng.NextDouble();
        }

        var output = new int[rows];
        fixed (float* l = logits, t = temperature, p = topP, m = minP, u = uniforms)
        fixed (int* o = output, k = topK)
        {
            EmuKernels.Sample(rows, 1, 1, KernelShapes.SampleThreads, 0, o, l, vocab, t, k, p, m, u);
        }

        for (int r = 0; r < rows; r++)
        {
            int expected = SamplingReference.Sample(logits.AsSpan(r * vocab, vocab), temperature[r], topK[r], topP[r], minP[r], uniforms[r]);
            Assert.True(expected == output[r], $"row {r} (T={temperature[r]} k={topK[r]} p={topP[r]} min_p={minP[r]} u={uniforms[r]}): expected {expected} got {output[r]}");
        }
    }

    [Fact]
    public void Top_k_of_one_is_greedy_whatever_the_draw()
    {
        var rng = new Random(4);
        int vocab = 512, rows = 3;
        var logits = Rand.Uniform(rng, rows * vocab, 3f);
        float[] temperature = [1f, 1f, 1f];
        int[] topK = [1, 1, 1];
        float[] topP = [1f, 1f, 1f], minP = [0f, 0f, 0f], uniforms = [0f, 0.5f, 0.999999f];
        var output = new int[rows];
        fixed (float* l = logits, t = temperature, p = topP, m = minP, u = uniforms)
        fixed (int* o = output, k = topK)
        {
            EmuKernels.Sample(rows, 1, 1, KernelShapes.SampleThreads, 0, o, l, vocab, t, k, p, m, u);
        }

        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(SamplingReference.Argmax(logits.AsSpan(r * vocab, vocab)), output[r]);
        }
    }
}
