using System.Text;
using Folio.Text.Tokenization;

namespace Folio.Text.Tests.Tokenization;

/// <summary>
/// Hand-encodes a SentencePiece ModelProto (protobuf wire format written byte by byte), so the
/// reader is tested against the format itself rather than against its own writer.
/// </summary>
internal static class ProtoBuilder
{
    public static byte[] SentencePieceModel(TokenizerSpec spec, bool addDummyPrefix = true, int modelType = 2)
    {
        var model = new List<byte>();
        for (var id = 0; id < spec.Tokens.Count; id++)
        {
            var piece = new List<byte>();
            LengthDelimited(piece, 1, Encoding.UTF8.GetBytes(spec.Tokens[id]));
            Tag(piece, 2, 5);
            piece.AddRange(BitConverter.GetBytes(spec.Scores![id])); // little-endian float
            Tag(piece, 3, 0);
            Varint(piece, (ulong)spec.TokenTypes[id]);
            LengthDelimited(model, 1, piece.ToArray());
        }

        var trainer = new List<byte>();
        Tag(trainer, 3, 0);
        Varint(trainer, (ulong)modelType);
        Tag(trainer, 35, 0);
        Varint(trainer, 1); // byte_fallback
        Tag(trainer, 40, 0);
        Varint(trainer, 0); // unk_id
        Tag(trainer, 41, 0);
        Varint(trainer, 1); // bos_id
        Tag(trainer, 42, 0);
        Varint(trainer, 2); // eos_id
        Tag(trainer, 43, 0);
        Varint(trainer, unchecked((ulong)-1L)); // pad_id = -1: a ten-byte varint
        LengthDelimited(model, 2, trainer.ToArray());

        var normalizer = new List<byte>();
        LengthDelimited(normalizer, 1, Encoding.UTF8.GetBytes("identity"));
        Tag(normalizer, 3, 0);
        Varint(normalizer, addDummyPrefix ? 1UL : 0UL);
        Tag(normalizer, 4, 0);
        Varint(normalizer, 0); // remove_extra_whitespaces: off, as Llama's model has it
        Tag(normalizer, 5, 0);
        Varint(normalizer, 1); // escape_whitespaces
        LengthDelimited(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    private static void Tag(List<byte> output, int field, int wire) => Varint(output, (ulong)((field << 3) | wire));

    private static void LengthDelimited(List<byte> output, int field, byte[] data)
    {
        Tag(output, field, 2);
        Varint(output, (ulong)data.Length);
        output.AddRange(data);
    }

    private static void Varint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }
}
