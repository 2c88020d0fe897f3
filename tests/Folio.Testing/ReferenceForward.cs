using Folio.Models;

namespace Folio.Testing;

/// <summary>
/// A naive dense float64 Llama forward pass over a whole sequence: no paging, no packing, no
/// threads, written from the Hugging Face modelling code's definitions (either rope style, Llama 3
/// rope scaling, causal softmax attention, GQA, SwiGLU, RMSNorm) and sharing no code with Folio's
/// forward passes. The CPU runner is checked against it, and so are the files the writers produce
/// when llama.cpp runs them. Returns logits for every position, [tokens.Length][vocab]. Qwen3's
/// per-head RMSNorm of q and k before rope is applied when the config has it. A sliding window masks
/// keys more than window - 1 positions back (transformers' sliding_window_overlay: kv &gt; q - window)
/// on the layers its config class marks "sliding_attention": every layer for Mistral, layers
/// i &gt;= max_window_layers for Qwen2/Qwen3 with use_sliding_window (FirstLocalLayer here).
/// </summary>
public static class ReferenceForward
{
    public static double[][] Run(ModelConfig c, IReadOnlyDictionary<string, float[]> w, int[] tokens)
    {
        int n = tokens.Length;
        int d = c.HiddenSize;
        var h = new double[n][];
        var embed = w["model.embed_tokens.weight"];
        for (int t = 0; t < n; t++)
        {
            h[t] = new double[d];
            for (int i = 0; i < d; i++)
            {
                h[t][i] = embed[(tokens[t] * d) + i];
            }
        }

        var invFreq = InverseFrequencies(c);
        if (c.SlidingWindow is not null && c.SlidingWindowPattern != 1)
        {
            throw new NotSupportedException("the reference windows the layers from max_window_layers up (Mistral, Qwen), not Gemma's interleaved pattern");
        }

        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";

            // Qwen2Config/Qwen3Config: layer_types[i] = "sliding_attention" if sliding_window and i >= max_window_layers.
            // A query at t then sees keys t - window + 1 .. t: the window counts the query's own key.
            int? layerWindow = l >= c.FirstLocalLayer ? c.SlidingWindow : null;
            int Oldest(int t) => layerWindow is int window ? Math.Max(0, t - window + 1) : 0;
            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var x = RmsNorm(h[t], w[p + "input_layernorm.weight"], c.RmsNormEps);
                q[t] = Linear(x, w[p + "self_attn.q_proj.weight"], c.AttentionBias ? w[p + "self_attn.q_proj.bias"] : null, c.QDim);
                k[t] = Linear(x, w[p + "self_attn.k_proj.weight"], c.AttentionBias ? w[p + "self_attn.k_proj.bias"] : null, c.KvDim);
                v[t] = Linear(x, w[p + "self_attn.v_proj.weight"], c.AttentionBias ? w[p + "self_attn.v_proj.bias"] : null, c.KvDim);
                if (c.QkNorm)
                {
                    HeadRmsNorm(q[t], c.NumHeads, c.HeadDim, w[p + "self_attn.q_norm.weight"], c.RmsNormEps);
                    HeadRmsNorm(k[t], c.NumKvHeads, c.HeadDim, w[p + "self_attn.k_norm.weight"], c.RmsNormEps);
                }

                Rotate(q[t], c.NumHeads, c.HeadDim, t, invFreq, c.RopeStyle);
                Rotate(k[t], c.NumKvHeads, c.HeadDim, t, invFreq, c.RopeStyle);
            }

            for (int t = 0; t < n; t++)
            {
                var attn = new double[c.QDim];
                for (int head = 0; head < c.NumHeads; head++)
                {
                    int kvh = head / (c.NumHeads / c.NumKvHeads);
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int j = Oldest(t); j <= t; j++)
                    {
                        double s = 0;
                        for (int i = 0; i < c.HeadDim; i++)
                        {
                            s += q[t][(head * c.HeadDim) + i] * k[j][(kvh * c.HeadDim) + i];
                        }

                        scores[j] = s / Math.Sqrt(c.HeadDim);
                        max = Math.Max(max, scores[j]);
                    }

                    double sum = 0;
                    for (int j = Oldest(t); j <= t; j++)
                    {
                        scores[j] = Math.Exp(scores[j] - max);
                        sum += scores[j];
                    }

                    for (int j = Oldest(t); j <= t; j++)
                    {
                        for (int i = 0; i < c.HeadDim; i++)
                        {
                            attn[(head * c.HeadDim) + i] += scores[j] / sum * v[j][(kvh * c.HeadDim) + i];
                        }
                    }
                }

                var o = Linear(attn, w[p + "self_attn.o_proj.weight"], null, d);
                for (int i = 0; i < d; i++)
                {
                    h[t][i] += o[i];
                }

                var x = RmsNorm(h[t], w[p + "post_attention_layernorm.weight"], c.RmsNormEps);
                var g = Linear(x, w[p + "mlp.gate_proj.weight"], null, c.IntermediateSize);
                var u = Linear(x, w[p + "mlp.up_proj.weight"], null, c.IntermediateSize);
                for (int i = 0; i < g.Length; i++)
                {
                    g[i] = g[i] / (1 + Math.Exp(-g[i])) * u[i];
                }

                var down = Linear(g, w[p + "mlp.down_proj.weight"], null, d);
                for (int i = 0; i < d; i++)
                {
                    h[t][i] += down[i];
                }
            }
        }

        var head_ = c.TieWordEmbeddings ? embed : w["lm_head.weight"];
        var logits = new double[n][];
        for (int t = 0; t < n; t++)
        {
            logits[t] = Linear(RmsNorm(h[t], w["model.norm.weight"], c.RmsNormEps), head_, null, c.VocabSize);
        }

        return logits;
    }

    /// <summary>HF's default inverse frequencies, then _compute_llama3_parameters when configured.</summary>
    public static double[] InverseFrequencies(ModelConfig c)
    {
        if (c.RopeScaling is Llama3RopeScaling s)
        {
            return Llama3ScaledInverseFrequencies(c.HeadDim, c.RopeTheta, s.Factor, s.LowFreqFactor, s.HighFreqFactor, s.OriginalMaxPositionEmbeddings);
        }

        var inv = new double[c.HeadDim / 2];
        for (int i = 0; i < inv.Length; i++)
        {
            inv[i] = 1.0 / Math.Pow(c.RopeTheta, (2.0 * i) / c.HeadDim);
        }

        return inv;
    }

    /// <summary>transformers' _compute_llama3_parameters, rewritten here as the reference: scaled inv_freq per pair.</summary>
    public static double[] Llama3ScaledInverseFrequencies(int dim, double theta, double factor, double low, double high, double oldCtx)
    {
        var result = new double[dim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double invFreq = 1.0 / Math.Pow(theta, 2.0 * i / dim);
            double wavelen = 2 * Math.PI / invFreq;
            double scaled = wavelen > oldCtx / low ? invFreq / factor : invFreq;
            double smooth = ((oldCtx / wavelen) - low) / (high - low);
            bool medium = !(wavelen < oldCtx / high) && !(wavelen > oldCtx / low);
            result[i] = medium ? ((1 - smooth) * scaled / factor) + (smooth * scaled) : scaled;
        }

        return result;
    }

    /// <summary>RotateHalf: x·cos + rotate_half(x)·sin with cos/sin repeated over both halves; Interleaved: pairs (2i, 2i+1).</summary>
    private static void Rotate(double[] x, int heads, int hd, int pos, double[] invFreq, RopeStyle style)
    {
        for (int h = 0; h < heads; h++)
        {
            var head = new double[hd];
            Array.Copy(x, h * hd, head, 0, hd);
            var result = new double[hd];
            for (int i = 0; i < hd; i++)
            {
                if (style == RopeStyle.RotateHalf)
                {
                    double angle = pos * invFreq[i % (hd / 2)];
                    double rotated = i < hd / 2 ? -head[i + (hd / 2)] : head[i - (hd / 2)];
                    result[i] = (head[i] * Math.Cos(angle)) + (rotated * Math.Sin(angle));
                }
                else
                {
                    double angle = pos * invFreq[i / 2];
                    double rotated = i % 2 == 0 ? -head[i + 1] : head[i - 1];
                    result[i] = (head[i] * Math.Cos(angle)) + (rotated * Math.Sin(angle));
                }
            }

            Array.Copy(result, 0, x, h * hd, hd);
        }
    }

    /// <summary>Qwen3Attention's q_norm / k_norm: RMSNorm over each head's head_dim values, in place.</summary>
    private static void HeadRmsNorm(double[] x, int heads, int hd, float[] w, float eps)
    {
        for (int h = 0; h < heads; h++)
        {
            var head = RmsNorm(x[(h * hd)..((h + 1) * hd)], w, eps);
            Array.Copy(head, 0, x, h * hd, hd);
        }
    }

    private static double[] RmsNorm(double[] x, float[] w, float eps)
    {
        double ss = 0;
        foreach (double v in x)
        {
            ss += v * v;
        }

        double inv = 1 / Math.Sqrt((ss / x.Length) + eps);
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = x[i] * inv * w[i];
        }

        return y;
    }

    /// <summary>y = W x + b with W [outDim, x.Length] row-major.</summary>
    private static double[] Linear(double[] x, float[] w, float[]? b, int outDim)
    {
        var y = new double[outDim];
        for (int o = 0; o < outDim; o++)
        {
            double s = b?[o] ?? 0;
            for (int i = 0; i < x.Length; i++)
            {
                s += w[((long)o * x.Length) + i] * x[i];
            }

            y[o] = s;
        }

        return y;
    }
}
