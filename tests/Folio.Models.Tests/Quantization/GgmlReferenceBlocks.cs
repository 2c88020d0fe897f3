using Folio.Models;

namespace Folio.Models.Tests.Quantization;

/// <summary>One GGML block decoded to integers: value k = groupScale[g] * Values[k] - groupMin[g] (g = k / GroupSize).</summary>
public sealed class ReferenceBlock(int values, int groups)
{
    /// <summary>The signed integer each value is a multiple of (the code with the format's zero point removed).</summary>
    public int[] Values { get; } = new int[values];
    public int[] GroupScales { get; } = new int[groups];

    /// <summary>Integer mins (k-quants with mins), 0 elsewhere.</summary>
    public int[] GroupMins { get; } = new int[groups];
    public int GroupSize => Values.Length / GroupScales.Length;

    /// <summary>The block's f16 scale d, widened.</summary>
    public float D { get; set; }

    /// <summary>dmin (k-quants with mins), or minus the block offset m (q4_1, q5_1), or 0.</summary>
    public float DMin { get; set; }

    /// <summary>Value k as ggml's dequantizer computes it: (d * scale) * value - (dmin * min).</summary>
    public float Dequantized(int k)
    {
        int g = k / GroupSize;
        float scale = D * GroupScales[g];
        float min = DMin * GroupMins[g];
        return (scale * Values[k]) - min;
    }
}

/// <summary>
/// GGML block layouts written out for the tests from the format description (ggml-common.h's block
/// structs and the dequantize_row_* value order), independently of Folio.Models.Quantization: each
/// format is read with a little bit reader, field by field, in the order the file stores them.
/// </summary>
public static class GgmlReferenceBlocks
{
    public static readonly int[] Iq4Levels = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    public static (int Values, int Bytes) Layout(DType t) => t switch
    {
        DType.Q4_0 => (32, 2 + 16),
        DType.Q4_1 => (32, 2 + 2 + 16),
        DType.Q5_0 => (32, 2 + 4 + 16),
        DType.Q5_1 => (32, 2 + 2 + 4 + 16),
        DType.Q8_0 => (32, 2 + 32),
        DType.IQ4_NL => (32, 2 + 16),
        DType.Q2_K => (256, 16 + 64 + 2 + 2),
        DType.Q3_K => (256, 32 + 64 + 12 + 2),
        DType.Q4_K => (256, 2 + 2 + 12 + 128),
        DType.Q5_K => (256, 2 + 2 + 12 + 32 + 128),
        DType.Q6_K => (256, 128 + 64 + 16 + 2),
        DType.IQ4_XS => (256, 2 + 2 + 4 + 128),
        _ => throw new ArgumentException(t.ToString()),
    };

    /// <summary>Byte offsets of the f16 fields of a block (d first).</summary>
    public static int[] HalfFields(DType t) => t switch
    {
        DType.Q4_1 or DType.Q5_1 or DType.Q4_K or DType.Q5_K => [0, 2],
        DType.Q2_K => [80, 82],
        DType.Q3_K => [108],
        DType.Q6_K => [208],
        _ => [0],
    };

    private static float Half(byte[] b, int o) => (float)BitConverter.ToHalf(b, o);

    private static int Bits(byte[] b, int byteOffset, int bitOffset, int count) => (b[byteOffset] >> bitOffset) & ((1 << count) - 1);

    /// <summary>q4_0/q4_1/q5_x/iq4_nl pack value j (j &lt; 16) in the low nibble of byte j and value j + 16 in its high nibble.</summary>
    private static int Nibble(byte[] b, int qs, int k) => k < 16 ? Bits(b, qs + k, 0, 4) : Bits(b, qs + k - 16, 4, 4);

    public static ReferenceBlock Decode(DType t, byte[] b)
    {
        switch (t)
        {
            case DType.Q8_0:
            {
                var r = new ReferenceBlock(32, 1) { D = Half(b, 0) };
                r.GroupScales[0] = 1;
                for (int k = 0; k < 32; k++)
                {
                    r.Values[k] = unchecked((sbyte)b[2 + k]);
                }

                return r;
            }

            case DType.Q4_0:
            case DType.Q4_1:
            case DType.IQ4_NL:
            {
                bool min = t == DType.Q4_1;
                var r = new ReferenceBlock(32, 1) { D = Half(b, 0), DMin = min ? -Half(b, 2) : 0 };
                r.GroupScales[0] = 1;
                r.GroupMins[0] = min ? 1 : 0;
                for (int k = 0; k < 32; k++)
                {
                    int n = Nibble(b, min ? 4 : 2, k);
                    r.Values[k] = t switch { DType.Q4_0 => n - 8, DType.IQ4_NL => Iq4Levels[n], _ => n };
                }

                return r;
            }

            case DType.Q5_0:
            case DType.Q5_1:
            {
                bool min = t == DType.Q5_1;
                int qh = min ? 4 : 2;
                var r = new ReferenceBlock(32, 1) { D = Half(b, 0), DMin = min ? -Half(b, 2) : 0 };
                r.GroupScales[0] = 1;
                r.GroupMins[0] = min ? 1 : 0;
                for (int k = 0; k < 32; k++)
                {
                    // qh is a little-endian u32 whose bit k is value k's fifth bit.
                    int fifth = Bits(b, qh + (k / 8), k % 8, 1);
                    int v = Nibble(b, qh + 4, k) + (16 * fifth);
                    r.Values[k] = min ? v : v - 16;
                }

                return r;
            }

            case DType.Q2_K:
            {
                // scales[16] (scale low nibble, min high nibble), qs[64], d, dmin. Value k: 128-value half h,
                // within it the shift s = 2 * ((k % 128) / 32), then 32 values reading qs[32 h + (k % 32)].
                var r = new ReferenceBlock(256, 16) { D = Half(b, 80), DMin = Half(b, 82) };
                for (int g = 0; g < 16; g++)
                {
                    r.GroupScales[g] = Bits(b, g, 0, 4);
                    r.GroupMins[g] = Bits(b, g, 4, 4);
                }

                for (int k = 0; k < 256; k++)
                {
                    int h = k / 128, shift = 2 * (k % 128 / 32);
                    r.Values[k] = Bits(b, 16 + (32 * h) + (k % 32), shift, 2);
                }

                return r;
            }

            case DType.Q3_K:
            {
                // hmask[32], qs[64], scales[12], d. 6-bit scales: low 4 bits of scale j in byte j % 8
                // (low nibble for j < 8, high for j >= 8), top 2 bits in byte 8 + j % 4 at bit 2 * (j / 4).
                var r = new ReferenceBlock(256, 16) { D = Half(b, 108) };
                for (int j = 0; j < 16; j++)
                {
                    int low = Bits(b, 96 + (j % 8), j < 8 ? 0 : 4, 4);
                    int high = Bits(b, 96 + 8 + (j % 4), 2 * (j / 4), 2);
                    r.GroupScales[j] = (low | (high << 4)) - 32;
                }

                for (int k = 0; k < 256; k++)
                {
                    int h = k / 128, pair = k % 128 / 32, l = k % 32;
                    int low = Bits(b, 32 + (32 * h) + l, 2 * pair, 2);
                    int hbit = Bits(b, l, (4 * h) + pair, 1);
                    r.Values[k] = low - (hbit == 1 ? 0 : 4);
                }

                return r;
            }

            case DType.Q4_K:
            case DType.Q5_K:
            {
                // d, dmin, scales[12], (qh[32],) qs[128]. Groups of 32; 64-value chunk c reads qs[32c + l],
                // low nibble for its first 32 values, high for the next. 6-bit scale/min of group j:
                // j < 4: bytes j and j + 4 (low 6 bits); j >= 4: low nibble / high nibble of byte j + 4,
                // top two bits from the spare bits 6-7 of bytes j - 4 (scale) and j (min).
                bool five = t == DType.Q5_K;
                var r = new ReferenceBlock(256, 8) { D = Half(b, 0), DMin = Half(b, 2) };
                for (int j = 0; j < 8; j++)
                {
                    if (j < 4)
                    {
                        r.GroupScales[j] = Bits(b, 4 + j, 0, 6);
                        r.GroupMins[j] = Bits(b, 4 + j + 4, 0, 6);
                    }
                    else
                    {
                        r.GroupScales[j] = Bits(b, 4 + j + 4, 0, 4) | (Bits(b, 4 + j - 4, 6, 2) << 4);
                        r.GroupMins[j] = Bits(b, 4 + j + 4, 4, 4) | (Bits(b, 4 + j, 6, 2) << 4);
                    }
                }

                int qs = five ? 48 : 16;
                for (int k = 0; k < 256; k++)
                {
                    int chunk = k / 64, l = k % 32, upper = k % 64 / 32;
                    int v = Bits(b, qs + (32 * chunk) + l, 4 * upper, 4);
                    if (five)
                    {
                        v += 16 * Bits(b, 16 + l, (2 * chunk) + upper, 1);
                    }

                    r.Values[k] = v;
                }

                return r;
            }

            case DType.Q6_K:
            {
                // ql[128], qh[64], scales[16] int8, d. Value k in half h = k / 128, quarter q = k % 128 / 32,
                // l = k % 32: low nibble from ql[64 h + l + 32 (q % 2)] (high nibble when q >= 2),
                // high two bits from qh[32 h + l] at bit 2 q.
                var r = new ReferenceBlock(256, 16) { D = Half(b, 208) };
                for (int j = 0; j < 16; j++)
                {
                    r.GroupScales[j] = unchecked((sbyte)b[192 + j]);
                }

                for (int k = 0; k < 256; k++)
                {
                    int h = k / 128, q = k % 128 / 32, l = k % 32;
                    int low = Bits(b, (64 * h) + l + (32 * (q % 2)), q >= 2 ? 4 : 0, 4);
                    int high = Bits(b, 128 + (32 * h) + l, 2 * q, 2);
                    r.Values[k] = (low | (high << 4)) - 32;
                }

                return r;
            }

            case DType.IQ4_XS:
            {
                // d, scales_h (u16), scales_l[4], qs[128]; 8 groups of 32 each as an iq4_nl block's nibbles.
                var r = new ReferenceBlock(256, 8) { D = Half(b, 0) };
                int scalesHigh = b[2] | (b[3] << 8);
                for (int j = 0; j < 8; j++)
                {
                    int low = Bits(b, 4 + (j / 2), 4 * (j % 2), 4);
                    int high = (scalesHigh >> (2 * j)) & 3;
                    r.GroupScales[j] = (low | (high << 4)) - 32;
                }

                for (int k = 0; k < 256; k++)
                {
                    r.Values[k] = Iq4Levels[Nibble(b, 8 + (16 * (k / 32)), k % 32)];
                }

                return r;
            }

            default:
                throw new ArgumentException(t.ToString());
        }
    }

    /// <summary>Random bytes for <paramref name="blocks"/> blocks whose f16 fields are finite, of magnitude about <paramref name="scale"/>.</summary>
    public static byte[] RandomBlocks(DType t, int blocks, Random rng, float scale)
    {
        var (_, bytes) = Layout(t);
        var data = new byte[blocks * bytes];
        rng.NextBytes(data);
        for (int b = 0; b < blocks; b++)
        {
            foreach (int o in HalfFields(t))
            {
                var h = (Half)(float)(scale * (0.25 + (rng.NextDouble() * 1.5)) * (t is DType.Q4_0 or DType.Q5_0 or DType.Q8_0 or DType.IQ4_NL && rng.Next(4) == 0 ? -1 : 1));
                BitConverter.TryWriteBytes(data.AsSpan((b * bytes) + o, 2), h);
            }
        }

        return data;
    }
}
