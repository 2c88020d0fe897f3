using Folio.Cpu.Quantized;
using Folio.Models;
using Folio.Models.Tests.Quantization;

namespace Folio.Cpu.Tests.Quantized;

/// <summary>
/// The int8 kernels of every GGML type against the definition written in the tests
/// (<see cref="Int8Reference"/>): bitwise, for each implementation the machine has (AVX-VNNI, AVX2,
/// scalar), for rows in every tile position and panels cut short; and against the real product of
/// the dequantized weights and the quantized activations within float rounding.
/// </summary>
public sealed unsafe class QuantGemmTests
{
    public static TheoryData<DType> Types => new(QuantLayouts.Quantized);

    private const int N = 37; // two full panels and a partial one
    private const int K = 512;
    private const int M = 7; // a 4-row tile and three single rows

    private sealed class Case : IDisposable
    {
        public Case(DType type, int seed, int k = K)
        {
            Width = k;
            var rng = new Random(seed);
            var (values, bytes) = GgmlReferenceBlocks.Layout(type);
            int rowBytes = Width / values * bytes;
            Rows = new byte[N][];
            Store = new NativeTensorStore("random-blocks");
            var view = Store.Add("w", type, [N, Width], (long)N * rowBytes);
            for (int n = 0; n < N; n++)
            {
                Rows[n] = GgmlReferenceBlocks.RandomBlocks(type, Width / values, rng, scale: 0.01f);
                Rows[n].CopyTo(new Span<byte>(view.Data + ((long)n * rowBytes), rowBytes));
            }

            View = view;
            X = new float[M][];
            for (int m = 0; m < M; m++)
            {
                X[m] = Enumerable.Range(0, Width).Select(_ => (float)((rng.NextDouble() * 2) - 1) * (m + 1)).ToArray();
            }

            // One block of one row all zero: its scale is 0 and so are its codes.
            Array.Clear(X[2], 64, 32);
        }

        /// <summary>K of this case's matrix.</summary>
        public int Width { get; }

        public NativeTensorStore Store { get; }
        public TensorView View { get; }
        public byte[][] Rows { get; }
        public float[][] X { get; }

        public float[] RunKernel(QuantIsa isa, bool accumulate = false)
        {
            using var matrix = QuantMatrix.FromTensors([View], [N], Width);
            using var acts = new QuantActivations();
            acts.EnsureCapacity(M, Width);
            var y = new float[M * N];
            if (accumulate)
            {
                for (int i = 0; i < y.Length; i++)
                {
                    y[i] = i * 0.25f;
                }
            }

            fixed (float* py = y)
            {
                for (int m = 0; m < M; m++)
                {
                    fixed (float* px = X[m])
                    {
                        acts.QuantizeRow(px, m, Width, matrix.NeedsBlocks32, matrix.NeedsBlocks256);
                    }
                }

                QuantGemm.Run(acts, M, matrix, py, N, accumulate, 0, matrix.Panels, isa);
            }

            return y;
        }

        public void Dispose() => Store.Dispose();
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_implementation_gives_the_reference_bits(DType type) => AssertReferenceBits(type, K);

    /// <summary>
    /// 18 super-blocks of 256 values (144 blocks of 32): longer than the run of super-blocks whose
    /// integer sums a tile keeps before finishing them, so a run ends inside a row.
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void Every_implementation_gives_the_reference_bits_over_a_long_row(DType type) => AssertReferenceBits(type, 18 * 256);

    private static void AssertReferenceBits(DType type, int k)
    {
        using var c = new Case(type, seed: (int)type + 100, k);
        int block = QuantLayouts.Of(type).Values;
        var expected = new float[M * N];
        for (int m = 0; m < M; m++)
        {
            var row = Int8Reference.Quantize(c.X[m], block);
            for (int n = 0; n < N; n++)
            {
                expected[(m * N) + n] = Int8Reference.Output(type, c.Rows[n], row);
            }
        }

        Assert.Contains(expected, v => Math.Abs(v) > 1e-3);
        foreach (var isa in new[] { QuantIsa.Best, QuantIsa.Avx2, QuantIsa.Scalar })
        {
            var got = c.RunKernel(isa);
            for (int i = 0; i < got.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(got[i]))
                {
                    Assert.Fail($"{type} {isa}: row {i / N}, output {i % N}: reference {expected[i]:R}, kernel {got[i]:R}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Accumulating_adds_the_product_to_what_y_holds(DType type)
    {
        using var c = new Case(type, seed: (int)type + 200);
        var plain = c.RunKernel(QuantIsa.Best);
        var added = c.RunKernel(QuantIsa.Best, accumulate: true);
        for (int i = 0; i < plain.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits((i * 0.25f) + plain[i]), BitConverter.SingleToInt32Bits(added[i]));
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void The_result_is_the_dequantized_weights_times_the_quantized_activations_up_to_float_rounding(DType type)
    {
        // Checks the definition itself against plain math: Σ w·x̂ in double, with w from the Models
        // dequantizer and x̂ = scale · q. The 32-value formats with an offset m use llama.cpp's f16
        // s = f16(d · Σq) for m's term, which differs from dx · Σq by its rounding: that is allowed for.
        using var c = new Case(type, seed: (int)type + 300);
        var got = c.RunKernel(QuantIsa.Best);
        int block = QuantLayouts.Of(type).Values;
        var w = DTypeConversion.ToF32(c.View);
        for (int m = 0; m < M; m++)
        {
            var row = Int8Reference.Quantize(c.X[m], block);
            for (int n = 0; n < N; n++)
            {
                double exact = 0, magnitude = 0, offsetSlack = 0;
                for (int k = 0; k < K; k++)
                {
                    double xq = (double)row.D[k / block] * row.Q[k];
                    exact += w[(n * K) + k] * xq;
                    magnitude += Math.Abs(w[(n * K) + k] * xq);
                }

                if (type is DType.Q4_1 or DType.Q5_1)
                {
                    int bytes = GgmlReferenceBlocks.Layout(type).Bytes;
                    for (int b = 0; b < K / 32; b++)
                    {
                        var blk = GgmlReferenceBlocks.Decode(type, c.Rows[n].AsSpan(b * bytes, bytes).ToArray());
                        int sum = row.Q.Skip(b * 32).Take(32).Sum(v => (int)v);
                        offsetSlack += Math.Abs(blk.DMin) * Math.Abs(row.ScaledSums[b] - ((double)row.D[b] * sum));
                    }
                }

                double diff = Math.Abs(got[(m * N) + n] - exact);
                Assert.True(diff <= (2e-6 * magnitude) + (1.01 * offsetSlack) + 1e-30, $"{type}: row {m}, output {n}: kernel {got[(m * N) + n]}, exact {exact}, |diff| {diff:E2}, Σ|w·x̂| {magnitude:E2}");
            }
        }
    }
}
