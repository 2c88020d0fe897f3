using Folio.Models.Loading;

using Folio.ModelTools;

namespace Folio.Models.Tests.Loading;

public class QkPermutationTests
{
    [Fact]
    public void One_head_of_four_rows_moves_the_second_half_between_the_first()
    {
        // HF rows (j, j + d/2) become GGUF rows (2j, 2j + 1).
        float[] hf = [10, 11, 12, 13];
        Assert.Equal([10f, 12f, 11f, 13f], QkPermutation.HuggingFaceToGguf(hf, numHeads: 1, rowLength: 1));
    }

    [Fact]
    public void Gguf_to_hugging_face_inverts_the_permutation()
    {
        var rng = new Random(5);
        var w = Enumerable.Range(0, 3 * 8 * 5).Select(_ => (float)rng.NextDouble()).ToArray();
        var there = QkPermutation.HuggingFaceToGguf(w, numHeads: 3, rowLength: 5);
        Assert.NotEqual(w, there);
        Assert.Equal(w, QkPermutation.GgufToHuggingFace(there, numHeads: 3, rowLength: 5));
    }

    [Fact]
    public void Interleaved_rope_on_permuted_rows_equals_rotate_half_rope_on_original_rows()
    {
        const int heads = 2, headDim = 8, inDim = 6;
        var rng = new Random(9);
        var w = Enumerable.Range(0, heads * headDim * inDim).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var x = Enumerable.Range(0, inDim).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var wg = QkPermutation.HuggingFaceToGguf(w, heads, inDim);
        const int pos = 7;

        double[] MatVec(float[] m) => Enumerable.Range(0, heads * headDim).Select(r => Enumerable.Range(0, inDim).Sum(c => (double)m[(r * inDim) + c] * x[c])).ToArray();
        double Freq(int i) => Math.Pow(10000, -2.0 * i / headDim);

        var qh = MatVec(w);
        var qg = MatVec(wg);
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < headDim / 2; i++)
            {
                double c = Math.Cos(pos * Freq(i)), s = Math.Sin(pos * Freq(i));
                // rotate_half: pair (i, i + d/2)
                int a = (h * headDim) + i, b = a + (headDim / 2);
                double ha = (qh[a] * c) - (qh[b] * s), hb = (qh[b] * c) + (qh[a] * s);
                // interleaved: pair (2i, 2i + 1)
                int ga = (h * headDim) + (2 * i), gb = ga + 1;
                double ra = (qg[ga] * c) - (qg[gb] * s), rb = (qg[gb] * c) + (qg[ga] * s);
                Assert.Equal(ha, ra, 12);
                Assert.Equal(hb, rb, 12);
            }
        }
    }
}
