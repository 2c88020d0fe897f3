using System.Buffers.Binary;
using Folio.Models;

namespace Folio.Cpu.Quantized;

/// <summary>
/// One GGML block (a 32-value block or a 256-value super-block) taken apart into what a
/// <see cref="PanelFormat"/> record stores: the integer code of every value, the integer scale and
/// min of every group, and the raw f16 scale fields. The codes follow ggml's dequantize_row_* value
/// order, so value k of the block is codes[k].
/// </summary>
internal ref struct GgmlBlockReader
{
    public Span<int> Codes;
    public Span<int> GroupScales;
    public Span<int> GroupMins;
    public ushort D;
    public ushort M;

    public void Read(DType type, ReadOnlySpan<byte> b)
    {
        switch (type)
        {
            case DType.Q8_0:
                D = U16(b, 0);
                for (int j = 0; j < 32; j++)
                {
                    Codes[j] = (sbyte)b[2 + j];
                }

                break;
            case DType.Q4_0:
            case DType.IQ4_NL:
                D = U16(b, 0);
                Nibbles(b.Slice(2, 16), Codes);
                break;
            case DType.Q4_1:
                D = U16(b, 0);
                M = U16(b, 2);
                Nibbles(b.Slice(4, 16), Codes);
                break;
            case DType.Q5_0:
            case DType.Q5_1:
                bool hasMin = type == DType.Q5_1;
                int o = hasMin ? 4 : 2;
                D = U16(b, 0);
                M = hasMin ? U16(b, 2) : (ushort)0;
                uint qh = BinaryPrimitives.ReadUInt32LittleEndian(b[o..]);
                Nibbles(b.Slice(o + 4, 16), Codes);
                for (int j = 0; j < 32; j++)
                {
                    Codes[j] |= (int)((qh >> j) & 1) << 4;
                }

                break;
            case DType.Q2_K:
                Q2_K(b);
                break;
            case DType.Q3_K:
                Q3_K(b);
                break;
            case DType.Q4_K:
            case DType.Q5_K:
                QK4or5(b, type == DType.Q5_K);
                break;
            case DType.Q6_K:
                Q6_K(b);
                break;
            case DType.IQ4_XS:
                D = U16(b, 0);
                for (int ib = 0; ib < 8; ib++)
                {
                    GroupScales[ib] = Dequantizer.ScaleIq4Xs(b, ib);
                    Nibbles(b.Slice(8 + (ib * 16), 16), Codes.Slice(ib * 32, 32));
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "not a block-quantized type");
        }
    }

    private static ushort U16(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(b[offset..]);

    /// <summary>ggml's 32-value nibble order: value j is the low nibble of byte j, value j + 16 its high nibble.</summary>
    private static void Nibbles(ReadOnlySpan<byte> qs, Span<int> codes)
    {
        for (int j = 0; j < 16; j++)
        {
            codes[j] = qs[j] & 0xF;
            codes[j + 16] = qs[j] >> 4;
        }
    }

    private void Q2_K(ReadOnlySpan<byte> b)
    {
        D = U16(b, 80);
        M = U16(b, 82);
        int o = 0, group = 0;
        for (int half = 0; half < 2; half++)
        {
            for (int shift = 0; shift < 8; shift += 2)
            {
                for (int part = 0; part < 2; part++, group++)
                {
                    GroupScales[group] = b[group] & 0xF;
                    GroupMins[group] = b[group] >> 4;
                    for (int l = 0; l < 16; l++)
                    {
                        Codes[o++] = (b[16 + (half * 32) + (part * 16) + l] >> shift) & 3;
                    }
                }
            }
        }
    }

    private void Q3_K(ReadOnlySpan<byte> b)
    {
        D = U16(b, 108);
        Dequantizer.ScalesQ3K(b.Slice(96, 12), GroupScales);
        int o = 0, bit = 0;
        for (int half = 0; half < 2; half++)
        {
            for (int shift = 0; shift < 8; shift += 2, bit++)
            {
                for (int part = 0; part < 2; part++)
                {
                    for (int l = 0; l < 16; l++)
                    {
                        int i = (part * 16) + l;
                        // value = code - 4 with code = low 2 bits + 4 * hmask bit (ggml subtracts 4 where the bit is clear).
                        Codes[o++] = ((b[32 + (half * 32) + i] >> shift) & 3) | (((b[i] >> bit) & 1) << 2);
                    }
                }
            }
        }
    }

    private void QK4or5(ReadOnlySpan<byte> b, bool fifthBit)
    {
        D = U16(b, 0);
        M = U16(b, 2);
        var scales = b.Slice(4, 12);
        int qs = fifthBit ? 48 : 16;
        for (int group = 0; group < 8; group++)
        {
            (GroupScales[group], GroupMins[group]) = Dequantizer.ScaleMinK4(scales, group);
        }

        for (int chunk = 0; chunk < 4; chunk++)
        {
            for (int l = 0; l < 32; l++)
            {
                int q = b[qs + (chunk * 32) + l];
                int lo = q & 0xF, hi = q >> 4;
                if (fifthBit)
                {
                    int h = b[16 + l];
                    lo |= ((h >> (2 * chunk)) & 1) << 4;
                    hi |= ((h >> ((2 * chunk) + 1)) & 1) << 4;
                }

                Codes[(chunk * 64) + l] = lo;
                Codes[(chunk * 64) + 32 + l] = hi;
            }
        }
    }

    private void Q6_K(ReadOnlySpan<byte> b)
    {
        D = U16(b, 208);
        for (int g = 0; g < 16; g++)
        {
            GroupScales[g] = (sbyte)b[192 + g];
        }

        for (int half = 0; half < 2; half++)
        {
            var ql = b.Slice(half * 64, 64);
            var qh = b.Slice(128 + (half * 32), 32);
            var codes = Codes.Slice(half * 128, 128);
            for (int l = 0; l < 32; l++)
            {
                codes[l] = (ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4);
                codes[l + 32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
                codes[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
                codes[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
            }
        }
    }
}
