using System.Runtime.CompilerServices;
using Folio.Models;

namespace Folio.Cpu.Quantized;

/// <summary>
/// Packs a panel of the simple 32-value types whose codes need no decoding (q8_0, q4_0) by moving
/// the file's bytes four k at a time, instead of decoding every value into an int and setting it bit
/// by bit (<see cref="QuantMatrix"/>'s load-time packer, written for any type). A panel unit holds
/// four consecutive k of one row in one 32-bit word (<see cref="PanelFormat"/>), and four consecutive
/// codes of a row are four consecutive bytes (q8_0) or nibbles split low/high (q4_0) of the GGML block,
/// so each word is one load and one store (q4_0: one mask or shift), at about the speed of a copy.
/// The bytes written are exactly those of the general packer (tests compare them); it is what makes
/// a mapped expert's per-step packing cheap.
/// </summary>
internal static unsafe class DirectPanelPacking
{
    /// <summary>An f16 whose exponent bits are all set is infinite or NaN (what <see cref="QuantValidation"/> rejects).</summary>
    private const ushort F16ExponentMask = 0x7C00;

    /// <summary>Whether <see cref="Pack"/> handles this type.</summary>
    public static bool Handles(DType type) => type is DType.Q8_0 or DType.Q4_0;

    /// <summary>
    /// Packs panel <paramref name="local"/> of <paramref name="part"/> from tensor <paramref name="t"/>
    /// into <paramref name="panel"/>, which the caller has cleared (q4_0 ORs its two nibbles in).
    /// A block with a NaN or infinite scale stops it with the same message as the load-time packer.
    /// </summary>
    public static void Pack(TensorView t, QuantPart part, int local, byte* panel)
    {
        var f = part.Format;
        int k = (int)t.Shape[1];
        int blocks = k / 32;
        int blockBytes = f.Type == DType.Q8_0 ? 34 : 18;
        long rowBytes = (long)blocks * blockBytes;
        for (int r = 0; r < PanelFormat.Rows; r++)
        {
            int row = (local * PanelFormat.Rows) + r;
            if (row >= part.Rows)
            {
                break;
            }

            byte* src = t.Data + (row * rowBytes);

            // Word c of a unit is row 8u + c (PanelFormat): its byte offset inside each group.
            int u = r >> 3, word = (r & 7) * 4;
            int bad = f.Type == DType.Q8_0
                ? PackQ8Row(src, blocks, panel + (u * 32) + word, f.RecordBytes, PanelRecord.D(f, panel) + r)
                : PackQ4Row(src, blocks, panel + word, 4 * u, f.RecordBytes, PanelRecord.D(f, panel) + r);
            if (bad >= 0)
            {
                throw new ModelFormatException($"{t.File}: tensor '{t.Name}' of type {QuantLayouts.Name(f.Type)} is corrupt: row {row}, block {bad} has a NaN or infinite scale (re-download or re-quantize the file)");
            }
        }
    }

    /// <summary>
    /// q8_0: group g (k = 4g..4g+3) of a record is 64 bytes, unit u its half; the row's word is 4 code
    /// bytes. Returns the first block whose scale is NaN or infinite (ggml's row check, done as the
    /// scale is copied rather than in a pass of its own), or -1.
    /// </summary>
    private static int PackQ8Row(byte* src, int blocks, byte* dst, int recordBytes, ushort* d)
    {
        for (int s = 0; s < blocks; s++)
        {
            byte* block = src + (s * 34L);
            byte* rec = dst + ((long)s * recordBytes);
            for (int g = 0; g < 8; g++)
            {
                *(uint*)(rec + (g * 64)) = Unsafe.ReadUnaligned<uint>(block + 2 + (g * 4));
            }

            ushort scale = Unsafe.ReadUnaligned<ushort>(block);
            if ((scale & F16ExponentMask) == F16ExponentMask)
            {
                return s;
            }

            *(ushort*)((byte*)d + ((long)s * recordBytes)) = scale;
        }

        return -1;
    }

    /// <summary>
    /// q4_0: group g of a record is 32 bytes, unit u in the low (u = 0) or high nibble; the block's
    /// byte j holds value j in its low nibble and value j + 16 in its high one, so group g &lt; 4 takes
    /// the low nibbles of bytes 4g..4g+3 and group g + 4 their high nibbles. Returns the first block
    /// with a NaN or infinite scale, or -1.
    /// </summary>
    private static int PackQ4Row(byte* src, int blocks, byte* dst, int shift, int recordBytes, ushort* d)
    {
        for (int s = 0; s < blocks; s++)
        {
            byte* block = src + (s * 18L);
            byte* rec = dst + ((long)s * recordBytes);
            for (int g = 0; g < 4; g++)
            {
                uint w = Unsafe.ReadUnaligned<uint>(block + 2 + (g * 4));
                *(uint*)(rec + (g * 32)) |= (w & 0x0F0F0F0Fu) << shift;
                *(uint*)(rec + ((g + 4) * 32)) |= ((w >> 4) & 0x0F0F0F0Fu) << shift;
            }

            ushort scale = Unsafe.ReadUnaligned<ushort>(block);
            if ((scale & F16ExponentMask) == F16ExponentMask)
            {
                return s;
            }

            *(ushort*)((byte*)d + ((long)s * recordBytes)) = scale;
        }

        return -1;
    }
}
