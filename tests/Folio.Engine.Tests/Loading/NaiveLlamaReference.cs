using Folio.Engine.Model;

namespace Folio.Engine.Tests.Loading;

/// <summary>
/// A float64 Llama forward pass written straight from the Hugging Face model definition (rotate-half
/// rope on unpermuted q/k rows, causal softmax attention, GQA, SwiGLU, RMSNorm), to check files the
/// writers produce against llama.cpp without any Folio forward-pass code.
/// </summary>
internal static class NaiveLlamaReference
{
    /// <summary>Logits [tokens.Length][vocab] for the tokens at positions 0..n-1.</summary>
    public static double[][] Forward(ModelConfig c, IReadOnlyDictionary<string, float[]> w, int[] tokens)
    {
        int n = tokens.Length, h = c.HiddenSize, d = c.HeadDim;
        var x = tokens.Select(t => w["model.embed_tokens.weight"].Skip(t * h).Take(h).Select(v => (double)v).ToArray()).ToArray();
        var invFreq = c.RopeScaling is { } s
            ? Llama3RopeFactorsTests.ReferenceScaledInvFreq(d, c.RopeTheta, s.Factor, s.LowFreqFactor, s.HighFreqFactor, s.OriginalMaxPositionEmbeddings)
            : Enumerable.Range(0, d / 2).Select(i => 1.0 / Math.Pow(c.RopeTheta, 2.0 * i / d)).ToArray();

        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var a = RmsNorm(x[t], w[p + "input_layernorm.weight"], c.RmsNormEps);
                q[t] = Rope(Linear(w, p + "self_attn.q_proj", a, c.QDim, c.AttentionBias), c.NumHeads, d, t, invFreq);
                k[t] = Rope(Linear(w, p + "self_attn.k_proj", a, c.KvDim, c.AttentionBias), c.NumKvHeads, d, t, invFreq);
                v[t] = Linear(w, p + "self_attn.v_proj", a, c.KvDim, c.AttentionBias);
            }

            for (int t = 0; t < n; t++)
            {
                var attn = new double[c.QDim];
                for (int head = 0; head < c.NumHeads; head++)
                {
                    int kv = head / c.QueryGroupSize;
                    var scores = new double[t + 1];
                    for (int j = 0; j <= t; j++)
                    {
                        double dot = 0;
                        for (int i = 0; i < d; i++)
                        {
                            dot += q[t][(head * d) + i] * k[j][(kv * d) + i];
                        }

                        scores[j] = dot / Math.Sqrt(d);
                    }

                    double max = scores.Max();
                    var e = scores.Select(sc => Math.Exp(sc - max)).ToArray();
                    double sum = e.Sum();
                    for (int j = 0; j <= t; j++)
                    {
                        for (int i = 0; i < d; i++)
                        {
                            attn[(head * d) + i] += e[j] / sum * v[j][(kv * d) + i];
                        }
                    }
                }

                var o = Linear(w, p + "self_attn.o_proj", attn, h, false);
                x[t] = x[t].Select((xv, i) => xv + o[i]).ToArray();
                var b = RmsNorm(x[t], w[p + "post_attention_layernorm.weight"], c.RmsNormEps);
                var gate = Linear(w, p + "mlp.gate_proj", b, c.IntermediateSize, false);
                var up = Linear(w, p + "mlp.up_proj", b, c.IntermediateSize, false);
                var act = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
                var down = Linear(w, p + "mlp.down_proj", act, h, false);
                x[t] = x[t].Select((xv, i) => xv + down[i]).ToArray();
            }
        }

        string head0 = c.TieWordEmbeddings ? "model.embed_tokens" : "lm_head";
        return x.Select(xt => Linear(w, head0, RmsNorm(xt, w["model.norm.weight"], c.RmsNormEps), c.VocabSize, false)).ToArray();
    }

    private static double[] RmsNorm(double[] v, float[] weight, float eps)
    {
        double inv = 1 / Math.Sqrt(v.Average(a => a * a) + eps);
        return v.Select((a, i) => a * inv * weight[i]).ToArray();
    }

    private static double[] Linear(IReadOnlyDictionary<string, float[]> w, string prefix, double[] v, int rows, bool bias)
    {
        var m = w[prefix + ".weight"];
        var r = new double[rows];
        for (int i = 0; i < rows; i++)
        {
            double s = bias ? w[prefix + ".bias"][i] : 0;
            for (int j = 0; j < v.Length; j++)
            {
                s += m[(i * v.Length) + j] * v[j];
            }

            r[i] = s;
        }

        return r;
    }

    // rotate_half: dimension i pairs with i + d/2 in every head.
    private static double[] Rope(double[] x, int heads, int d, int pos, double[] invFreq)
    {
        var r = (double[])x.Clone();
        for (int head = 0; head < heads; head++)
        {
            for (int i = 0; i < d / 2; i++)
            {
                int a = (head * d) + i, b = a + (d / 2);
                double cos = Math.Cos(pos * invFreq[i]), sin = Math.Sin(pos * invFreq[i]);
                r[a] = (x[a] * cos) - (x[b] * sin);
                r[b] = (x[b] * cos) + (x[a] * sin);
            }
        }

        return r;
    }
}
