using System.Buffers.Binary;

namespace Folio.Models;

/// <summary>
/// Decodes GGML quantized blocks to f32 with ggml's reference formulas (dequantize_row_* in
/// ggml-quants.c): the f16 scales are widened first, then each value is the product (and sum)
/// the format defines, in that order. It is the definition of a quantized weight's value in Folio:
/// the load-time f32 conversion, the embedding lookup and the tests all use it.
/// </summary>
public static class Dequantizer
{
    /// <summary>iq4_nl's 16 levels (also iq4_xs's), as ggml-common.h defines them.</summary>
    public static ReadOnlySpan<sbyte> Iq4NlLevels => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    /// <summary>
    /// Decodes <paramref name="destination"/>.Length values (a whole number of blocks) from
    /// <paramref name="blocks"/>, which must hold exactly those blocks.
    /// </summary>
    public static void Row(DType dtype, ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        var layout = QuantLayouts.Of(dtype);
        int count = destination.Length;
        if (count % layout.Values != 0 || blocks.Length < (long)count / layout.Values * layout.Bytes)
        {
            throw new ArgumentException($"{dtype}: {count} values are not a whole number of {layout.Values}-value blocks, or {blocks.Length} bytes do not hold them");
        }

        int n = count / layout.Values;
        for (int b = 0; b < n; b++)
        {
            var block = blocks.Slice(b * layout.Bytes, layout.Bytes);
            var y = destination.Slice(b * layout.Values, layout.Values);
            switch (dtype)
            {
                case DType.Q8_0: Q8_0(block, y); break;
                case DType.Q4_0: Q4_0(block, y); break;
                case DType.Q4_1: Q4_1(block, y); break;
                case DType.Q5_0: Q5(block, y, hasMin: false); break;
                case DType.Q5_1: Q5(block, y, hasMin: true); break;
                case DType.Q2_K: Q2_K(block, y); break;
                case DType.Q3_K: Q3_K(block, y); break;
                case DType.Q4_K: Q4_K(block, y); break;
                case DType.Q5_K: Q5_K(block, y); break;
                case DType.Q6_K: Q6_K(block, y); break;
                case DType.IQ4_NL: IQ4_NL(block, y); break;
                case DType.IQ4_XS: IQ4_XS(block, y); break;
                default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a block-quantized dtype");
            }
        }
    }

    /// <summary>An f16 stored little-endian at <paramref name="offset"/>, widened to f32 (exact).</summary>
    public static float Half(ReadOnlySpan<byte> block, int offset) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block[offset..]));

    /// <summary>
    /// Scale and min of group <paramref name="j"/> (0..7) from the 12 packed bytes of a q4_K / q5_K
    /// block: groups 0-3 keep 6 bits in bytes j and j+4; groups 4-7 keep their low 4 bits in byte
    /// j+4 and their top 2 bits in the spare top bits of bytes j-4 and j.
    /// </summary>
    public static (int Scale, int Min) ScaleMinK4(ReadOnlySpan<byte> scales, int j) => j < 4
        ? (scales[j] & 63, scales[j + 4] & 63)
        : ((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4), (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));

    /// <summary>The 16 six-bit scales of a q3_K block (stored in 12 bytes), each minus 32.</summary>
    public static void ScalesQ3K(ReadOnlySpan<byte> packed, Span<int> scales)
    {
        // Low 4 bits: bytes 0-7 (low nibbles for groups 0-7, high nibbles for 8-15); top 2 bits: bytes 8-11.
        for (int j = 0; j < 16; j++)
        {
            int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
            int high = (packed[8 + (j % 4)] >> (2 * (j / 4))) & 3;
            scales[j] = (low | (high << 4)) - 32;
        }
    }

    /// <summary>The 6-bit scale of group <paramref name="ib"/> (0..7) of an iq4_xs block, minus 32.</summary>
    public static int ScaleIq4Xs(ReadOnlySpan<byte> block, int ib)
    {
        int high = BinaryPrimitives.ReadUInt16LittleEndian(block[2..]);
        return (((block[4 + (ib / 2)] >> (4 * (ib % 2))) & 0xF) | (((high >> (2 * ib)) & 3) << 4)) - 32;
    }

    private static void Q8_0(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        for (int j = 0; j < 32; j++)
        {
            y[j] = (sbyte)b[2 + j] * d;
        }
    }

    private static void Q4_0(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        var qs = b[2..];
        for (int j = 0; j < 16; j++)
        {
            y[j] = ((qs[j] & 0xF) - 8) * d;
            y[j + 16] = ((qs[j] >> 4) - 8) * d;
        }
    }

    private static void Q4_1(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        float m = Half(b, 2);
        var qs = b[4..];
        for (int j = 0; j < 16; j++)
        {
            y[j] = ((qs[j] & 0xF) * d) + m;
            y[j + 16] = ((qs[j] >> 4) * d) + m;
        }
    }

    private static void Q5(ReadOnlySpan<byte> b, Span<float> y, bool hasMin)
    {
        float d = Half(b, 0);
        float m = hasMin ? Half(b, 2) : 0f;
        int o = hasMin ? 4 : 2;
        uint qh = BinaryPrimitives.ReadUInt32LittleEndian(b[o..]);
        var qs = b[(o + 4)..];
        for (int j = 0; j < 16; j++)
        {
            int x0 = (qs[j] & 0xF) | (int)(((qh >> j) << 4) & 0x10);
            int x1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
            if (hasMin)
            {
                y[j] = (x0 * d) + m;
                y[j + 16] = (x1 * d) + m;
            }
            else
            {
                y[j] = (x0 - 16) * d;
                y[j + 16] = (x1 - 16) * d;
            }
        }
    }

    private static void Q2_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        // scales[16], qs[64], d, dmin
        var scales = b[..16];
        var qs = b[16..80];
        float d = Half(b, 80);
        float min = Half(b, 82);
        int o = 0, group = 0;
        for (int half = 0; half < 2; half++)
        {
            var q = qs.Slice(half * 32, 32);
            for (int shift = 0; shift < 8; shift += 2)
            {
                for (int part = 0; part < 2; part++, group++)
                {
                    int sc = scales[group];
                    float dl = d * (sc & 0xF);
                    float ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++)
                    {
                        y[o++] = (dl * ((q[(part * 16) + l] >> shift) & 3)) - ml;
                    }
                }
            }
        }
    }

    private static void Q3_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        // hmask[32], qs[64], scales[12], d
        var hmask = b[..32];
        var qs = b[32..96];
        Span<int> scales = stackalloc int[16];
        ScalesQ3K(b.Slice(96, 12), scales);
        float d = Half(b, 108);
        int o = 0, group = 0, bit = 0;
        for (int half = 0; half < 2; half++)
        {
            var q = qs.Slice(half * 32, 32);
            for (int shift = 0; shift < 8; shift += 2, bit++)
            {
                for (int part = 0; part < 2; part++, group++)
                {
                    float dl = d * scales[group];
                    for (int l = 0; l < 16; l++)
                    {
                        int i = (part * 16) + l;
                        int v = ((q[i] >> shift) & 3) - (((hmask[i] >> bit) & 1) != 0 ? 0 : 4);
                        y[o++] = dl * v;
                    }
                }
            }
        }
    }

    private static void Q4_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        // d, dmin, scales[12], qs[128]
        float d = Half(b, 0);
        float min = Half(b, 2);
        var scales = b.Slice(4, 12);
        var qs = b[16..];
        for (int chunk = 0; chunk < 4; chunk++)
        {
            var (s1, m1) = ScaleMinK4(scales, 2 * chunk);
            var (s2, m2) = ScaleMinK4(scales, (2 * chunk) + 1);
            float d1 = d * s1, dm1 = min * m1, d2 = d * s2, dm2 = min * m2;
            var q = qs.Slice(chunk * 32, 32);
            for (int l = 0; l < 32; l++)
            {
                y[(chunk * 64) + l] = (d1 * (q[l] & 0xF)) - dm1;
                y[(chunk * 64) + 32 + l] = (d2 * (q[l] >> 4)) - dm2;
            }
        }
    }

    private static void Q5_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        // d, dmin, scales[12], qh[32], qs[128]
        float d = Half(b, 0);
        float min = Half(b, 2);
        var scales = b.Slice(4, 12);
        var qh = b.Slice(16, 32);
        var qs = b[48..];
        for (int chunk = 0; chunk < 4; chunk++)
        {
            var (s1, m1) = ScaleMinK4(scales, 2 * chunk);
            var (s2, m2) = ScaleMinK4(scales, (2 * chunk) + 1);
            float d1 = d * s1, dm1 = min * m1, d2 = d * s2, dm2 = min * m2;
            var q = qs.Slice(chunk * 32, 32);
            for (int l = 0; l < 32; l++)
            {
                int h1 = (qh[l] >> (2 * chunk)) & 1;
                int h2 = (qh[l] >> ((2 * chunk) + 1)) & 1;
                y[(chunk * 64) + l] = (d1 * ((q[l] & 0xF) + (16 * h1))) - dm1;
                y[(chunk * 64) + 32 + l] = (d2 * ((q[l] >> 4) + (16 * h2))) - dm2;
            }
        }
    }

    private static void Q6_K(ReadOnlySpan<byte> b, Span<float> y)
    {
        // ql[128], qh[64], scales[16] (int8), d
        float d = Half(b, 208);
        for (int half = 0; half < 2; half++)
        {
            var ql = b.Slice(half * 64, 64);
            var qh = b.Slice(128 + (half * 32), 32);
            var sc = b.Slice(192 + (half * 8), 8);
            var yh = y.Slice(half * 128, 128);
            for (int l = 0; l < 32; l++)
            {
                int g = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                yh[l] = d * (sbyte)sc[g] * q1;
                yh[l + 32] = d * (sbyte)sc[g + 2] * q2;
                yh[l + 64] = d * (sbyte)sc[g + 4] * q3;
                yh[l + 96] = d * (sbyte)sc[g + 6] * q4;
            }
        }
    }

    private static void IQ4_NL(ReadOnlySpan<byte> b, Span<float> y)
    {
        float d = Half(b, 0);
        var qs = b[2..];
        var levels = Iq4NlLevels;
        for (int j = 0; j < 16; j++)
        {
            y[j] = d * levels[qs[j] & 0xF];
            y[j + 16] = d * levels[qs[j] >> 4];
        }
    }

    private static void IQ4_XS(ReadOnlySpan<byte> b, Span<float> y)
    {
        // d, scales_h (u16), scales_l[4], qs[128]
        float d = Half(b, 0);
        var levels = Iq4NlLevels;
        for (int ib = 0; ib < 8; ib++)
        {
            float dl = d * ScaleIq4Xs(b, ib);
            var qs = b.Slice(8 + (ib * 16), 16);
            for (int j = 0; j < 16; j++)
            {
                y[(ib * 32) + j] = dl * levels[qs[j] & 0xF];
                y[(ib * 32) + j + 16] = dl * levels[qs[j] >> 4];
            }
        }
    }
}
