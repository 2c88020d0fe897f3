namespace Folio.Cuda.Tests.Reference;

/// <summary>Float64 references for the row kernels, written from the model definitions.</summary>
internal static class RowReference
{
    public static double[] RmsNorm(float[] x, float[] weight, int rows, int hidden, double eps)
    {
        var r = new double[rows * hidden];
        for (int t = 0; t < rows; t++)
        {
            double ss = 0;
            for (int i = 0; i < hidden; i++)
            {
                ss += (double)x[(t * hidden) + i] * x[(t * hidden) + i];
            }

            double inv = 1 / Math.Sqrt((ss / hidden) + eps);
            for (int i = 0; i < hidden; i++)
            {
                r[(t * hidden) + i] = x[(t * hidden) + i] * inv * weight[i];
            }
        }

        return r;
    }

    /// <summary>Rotates one head in place in float64 (interleaved: pairs 2i,2i+1; else i, i+d/2).</summary>
    public static void Rope(double[] head, int position, double[] invFreq, bool interleaved)
    {
        int half = head.Length / 2;
        for (int i = 0; i < half; i++)
        {
            double angle = position * invFreq[i];
            double c = Math.Cos(angle), s = Math.Sin(angle);
            int a = interleaved ? 2 * i : i;
            int b = interleaved ? (2 * i) + 1 : i + half;
            double x1 = head[a], x2 = head[b];
            head[a] = (x1 * c) - (x2 * s);
            head[b] = (x2 * c) + (x1 * s);
        }
    }

    /// <summary>Llama 3 scaled inverse frequencies (rope_type "llama3"), from the published formula.</summary>
    public static double[] Llama3InvFreq(int headDim, double theta, double factor, double lowFreqFactor, double highFreqFactor, int originalMax)
    {
        var r = new double[headDim / 2];
        double lowWavelen = originalMax / lowFreqFactor, highWavelen = originalMax / highFreqFactor;
        for (int i = 0; i < r.Length; i++)
        {
            double f = 1 / Math.Pow(theta, 2.0 * i / headDim);
            double wavelen = 2 * Math.PI / f;
            if (wavelen < highWavelen)
            {
                r[i] = f;
            }
            else if (wavelen > lowWavelen)
            {
                r[i] = f / factor;
            }
            else
            {
                double smooth = ((originalMax / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                r[i] = ((1 - smooth) * f / factor) + (smooth * f);
            }
        }

        return r;
    }
}
