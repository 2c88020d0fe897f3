using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;
namespace Folio.ModelTools;

/// <summary>
/// The row permutation llama.cpp's converter applies to q_proj and k_proj (weights and biases) when it
/// writes a Llama checkpoint as GGUF. Hugging Face rotates dimension j with j + headDim/2
/// (rotate_half); GGUF rotates 2j with 2j+1. Moving HF row (head, half s, j) to GGUF row
/// (head, 2j + s) makes the interleaved rotation on the GGUF compute exactly the rotate-half rotation
/// on the Hugging Face weights.
/// </summary>
public static class QkPermutation
{
    /// <summary>HF layout to GGUF layout. <paramref name="rowLength"/> is in_features for a weight, 1 for a bias.</summary>
    public static float[] HuggingFaceToGguf(ReadOnlySpan<float> rows, int numHeads, int rowLength) => Permute(rows, numHeads, rowLength, toGguf: true);

    /// <summary>The inverse: GGUF (interleaved) layout back to HF (rotate-half) layout.</summary>
    public static float[] GgufToHuggingFace(ReadOnlySpan<float> rows, int numHeads, int rowLength) => Permute(rows, numHeads, rowLength, toGguf: false);

    private static float[] Permute(ReadOnlySpan<float> rows, int numHeads, int rowLength, bool toGguf)
    {
        int totalRows = rows.Length / rowLength;
        if (rows.Length % rowLength != 0 || totalRows % numHeads != 0 || totalRows / numHeads % 2 != 0)
        {
            throw new ArgumentException($"cannot permute {totalRows} rows of {rowLength} for {numHeads} heads: rows per head must be even");
        }

        int headDim = totalRows / numHeads;
        int half = headDim / 2;
        var result = new float[rows.Length];
        for (int h = 0; h < numHeads; h++)
        {
            for (int s = 0; s < 2; s++)
            {
                for (int j = 0; j < half; j++)
                {
                    int hfRow = (h * headDim) + (s * half) + j;
                    int ggufRow = (h * headDim) + (2 * j) + s;
                    int from = toGguf ? hfRow : ggufRow;
                    int to = toGguf ? ggufRow : hfRow;
                    rows.Slice(from * rowLength, rowLength).CopyTo(result.AsSpan(to * rowLength, rowLength));
                }
            }
        }

        return result;
    }
}
