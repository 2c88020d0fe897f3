using System.Runtime.InteropServices;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.Testing;

/// <summary>A tokenizer that maps nothing: the CPU tests feed token ids directly.</summary>
public sealed class IdOnlyTokenizer(int vocabSize) : ITokenizer
{
    public int VocabSize => vocabSize;
    public int? BosTokenId => null;
    public IReadOnlyList<int> EosTokenIds => [];
    public bool AddBosToken => false;
    public int[] Encode(string text, bool addSpecialTokens) => throw new NotSupportedException("test models have no tokenizer");
    public ReadOnlySpan<byte> TokenBytes(int tokenId) => [];
    public string TokenText(int tokenId) => tokenId.ToString(System.Globalization.CultureInfo.InvariantCulture);
    public bool IsSpecial(int tokenId) => false;
}

/// <summary>
/// Builds small Llama-family models with seeded random weights in native memory. Each weight is
/// rounded to what its storage dtype can represent before it is encoded, and the rounded f32
/// values are kept in <see cref="Values"/> so that the float64 reference uses exactly what the
/// runner should decode (the encoders here are written independently of DTypeConversion).
/// </summary>
public sealed class TestModel : IDisposable
{
    private readonly NativeTensorStore _store;

    private TestModel(ModelConfig config, NativeTensorStore store, Dictionary<string, float[]> values)
    {
        Config = config;
        _store = store;
        Values = values;
        Model = new LoadedModel("test-model", config, new IdOnlyTokenizer(config.VocabSize), store.Tensors, []);
    }

    public ModelConfig Config { get; }
    public LoadedModel Model { get; }
    public Dictionary<string, float[]> Values { get; }

    public static ModelConfig Shape(int hidden, int layers, int heads, int kvHeads, int headDim, int ffn, int vocab) => new()
    {
        Architecture = "llama",
        HiddenSize = hidden,
        NumLayers = layers,
        NumHeads = heads,
        NumKvHeads = kvHeads,
        HeadDim = headDim,
        IntermediateSize = ffn,
        VocabSize = vocab,
        MaxPositionEmbeddings = 4096,
        RmsNormEps = 1e-5f,
    };

    public static TestModel Create(ModelConfig c, int seed, DType dtype = DType.F32)
    {
        var rng = new Random(seed);
        var store = new NativeTensorStore("test-model");
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);

        void Add(string name, long[] shape, double scale, double offset, DType type)
        {
            int n = checked((int)shape.Aggregate(1L, (a, b) => a * b));
            var v = new float[n];
            for (int i = 0; i < n; i++)
            {
                v[i] = (float)(offset + (scale * ((rng.NextDouble() * 2) - 1)));
            }

            // Only 2-D weights whose rows are whole q8_0 blocks take a quantized type; vectors stay f32.
            if (type == DType.Q8_0 && (shape.Length != 2 || shape[1] % 32 != 0))
            {
                type = DType.F32;
            }

            Encode(store, name, shape, v, type);
            values[name] = v;
        }

        double Init(int fanIn) => 1.0 / Math.Sqrt(fanIn);
        Add("model.embed_tokens.weight", [c.VocabSize, c.HiddenSize], 1.0, 0, dtype);
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = $"model.layers.{i}.";
            Add(p + "input_layernorm.weight", [c.HiddenSize], 0.2, 1.0, dtype == DType.Q8_0 ? DType.F32 : dtype);
            Add(p + "post_attention_layernorm.weight", [c.HiddenSize], 0.2, 1.0, dtype == DType.Q8_0 ? DType.F32 : dtype);
            Add(p + "self_attn.q_proj.weight", [c.QDim, c.HiddenSize], 2 * Init(c.HiddenSize), 0, dtype);
            Add(p + "self_attn.k_proj.weight", [c.KvDim, c.HiddenSize], 2 * Init(c.HiddenSize), 0, dtype);
            Add(p + "self_attn.v_proj.weight", [c.KvDim, c.HiddenSize], 1.5 * Init(c.HiddenSize), 0, dtype);
            if (c.AttentionBias)
            {
                Add(p + "self_attn.q_proj.bias", [c.QDim], 0.2, 0, DType.F32);
                Add(p + "self_attn.k_proj.bias", [c.KvDim], 0.2, 0, DType.F32);
                Add(p + "self_attn.v_proj.bias", [c.KvDim], 0.2, 0, DType.F32);
            }

            Add(p + "self_attn.o_proj.weight", [c.HiddenSize, c.QDim], 1.5 * Init(c.QDim), 0, dtype);
            Add(p + "mlp.gate_proj.weight", [c.IntermediateSize, c.HiddenSize], 1.5 * Init(c.HiddenSize), 0, dtype);
            Add(p + "mlp.up_proj.weight", [c.IntermediateSize, c.HiddenSize], 1.5 * Init(c.HiddenSize), 0, dtype);
            Add(p + "mlp.down_proj.weight", [c.HiddenSize, c.IntermediateSize], 1.5 * Init(c.IntermediateSize), 0, dtype);
        }

        Add("model.norm.weight", [c.HiddenSize], 0.2, 1.0, dtype == DType.Q8_0 ? DType.F32 : dtype);
        if (!c.TieWordEmbeddings)
        {
            Add("lm_head.weight", [c.VocabSize, c.HiddenSize], 2 * Init(c.HiddenSize), 0, dtype);
        }

        return new TestModel(c, store, values);
    }

    /// <summary>Rounds <paramref name="v"/> in place to what <paramref name="type"/> holds and stores its encoding.</summary>
    private static unsafe void Encode(NativeTensorStore store, string name, long[] shape, float[] v, DType type)
    {
        switch (type)
        {
            case DType.F32:
                store.AddF32(name, v, shape);
                break;
            case DType.F16:
            {
                var t = store.Add(name, DType.F16, shape, v.Length * 2L);
                var dst = new Span<Half>(t.Data, v.Length);
                for (int i = 0; i < v.Length; i++)
                {
                    dst[i] = (Half)v[i];
                    v[i] = (float)dst[i];
                }

                break;
            }

            case DType.BF16:
            {
                var t = store.Add(name, DType.BF16, shape, v.Length * 2L);
                var dst = new Span<ushort>(t.Data, v.Length);
                for (int i = 0; i < v.Length; i++)
                {
                    // Truncation is a valid bf16 value too; the test only needs encoder and decoder to agree on it.
                    uint bits = BitConverter.SingleToUInt32Bits(v[i]) & 0xFFFF0000u;
                    dst[i] = (ushort)(bits >> 16);
                    v[i] = BitConverter.UInt32BitsToSingle(bits);
                }

                break;
            }

            case DType.Q8_0:
            {
                int blocks = v.Length / 32;
                var t = store.Add(name, DType.Q8_0, shape, blocks * 34L);
                var dst = new Span<byte>(t.Data, blocks * 34);
                for (int b = 0; b < blocks; b++)
                {
                    float amax = 0;
                    for (int i = 0; i < 32; i++)
                    {
                        amax = Math.Max(amax, Math.Abs(v[(b * 32) + i]));
                    }

                    var d = (Half)(amax / 127f);
                    MemoryMarshal.Write(dst.Slice(b * 34, 2), in d);
                    for (int i = 0; i < 32; i++)
                    {
                        int q = d == Half.Zero ? 0 : Math.Clamp((int)Math.Round(v[(b * 32) + i] / (float)d), -127, 127);
                        dst[(b * 34) + 2 + i] = unchecked((byte)(sbyte)q);
                        v[(b * 32) + i] = (float)d * q;
                    }
                }

                break;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        _store.Dispose();
    }
}
