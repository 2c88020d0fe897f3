using System.Buffers.Binary;
using System.Text;

namespace Folio.Text.Tokenization;

/// <summary>What Folio uses from a SentencePiece tokenizer.model (a ModelProto).</summary>
/// <param name="ModelType">TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char.</param>
public sealed record SentencePieceModel(
    IReadOnlyList<string> Pieces,
    IReadOnlyList<float> Scores,
    IReadOnlyList<int> Types,
    int ModelType,
    bool ByteFallback,
    int UnknownId,
    int BosId,
    int EosId,
    int PadId,
    bool AddDummyPrefix);

/// <summary>
/// Reads tokenizer.model. The format is a small protobuf: ModelProto { repeated SentencePiece
/// pieces = 1; TrainerSpec trainer_spec = 2; NormalizerSpec normalizer_spec = 3; } with
/// SentencePiece { string piece = 1; float score = 2; Type type = 3; }. Unknown fields are skipped.
/// </summary>
public static class SentencePieceModelReader
{
    public const int ModelTypeUnigram = 1;
    public const int ModelTypeBpe = 2;

    public static SentencePieceModel Read(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new TokenizerFormatException($"Cannot read '{path}': {e.Message}", e);
        }

        try
        {
            return Parse(data);
        }
        catch (FormatException e)
        {
            throw new TokenizerFormatException($"'{path}' is not a valid SentencePiece model (tokenizer.model): {e.Message}", e);
        }
    }

    public static SentencePieceModel Parse(ReadOnlySpan<byte> data)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<int>();
        // Protobuf defaults of TrainerSpec and NormalizerSpec.
        int modelType = ModelTypeUnigram, unk = 0, bos = 1, eos = 2, pad = -1;
        var byteFallback = false;
        var addDummyPrefix = true;

        var reader = new ProtoReader(data);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, ProtoReader.Length):
                    ReadPiece(reader.ReadBytes(), pieces, scores, types);
                    break;
                case (2, ProtoReader.Length):
                    var trainer = new ProtoReader(reader.ReadBytes());
                    while (trainer.Next(out var tf, out var tw))
                    {
                        switch (tf, tw)
                        {
                            case (3, ProtoReader.Varint): modelType = (int)trainer.ReadVarint(); break;
                            case (35, ProtoReader.Varint): byteFallback = trainer.ReadVarint() != 0; break;
                            case (40, ProtoReader.Varint): unk = (int)(long)trainer.ReadVarint(); break;
                            case (41, ProtoReader.Varint): bos = (int)(long)trainer.ReadVarint(); break;
                            case (42, ProtoReader.Varint): eos = (int)(long)trainer.ReadVarint(); break;
                            case (43, ProtoReader.Varint): pad = (int)(long)trainer.ReadVarint(); break;
                            default: trainer.Skip(tw); break;
                        }
                    }

                    break;
                case (3, ProtoReader.Length):
                    var normalizer = new ProtoReader(reader.ReadBytes());
                    while (normalizer.Next(out var nf, out var nw))
                    {
                        if (nf == 3 && nw == ProtoReader.Varint)
                        {
                            addDummyPrefix = normalizer.ReadVarint() != 0;
                        }
                        else
                        {
                            normalizer.Skip(nw);
                        }
                    }

                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (pieces.Count == 0)
        {
            throw new FormatException("it holds no pieces (field 1 of ModelProto)");
        }

        return new SentencePieceModel(pieces, scores, types, modelType, byteFallback, unk, bos, eos, pad, addDummyPrefix);
    }

    private static void ReadPiece(ReadOnlySpan<byte> data, List<string> pieces, List<float> scores, List<int> types)
    {
        var piece = "";
        var score = 0f;
        var type = GgufTokenType.Normal;
        var reader = new ProtoReader(data);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, ProtoReader.Length): piece = Encoding.UTF8.GetString(reader.ReadBytes()); break;
                case (2, ProtoReader.Fixed32): score = BitConverter.Int32BitsToSingle((int)reader.ReadFixed32()); break;
                case (3, ProtoReader.Varint): type = (int)reader.ReadVarint(); break;
                default: reader.Skip(wire); break;
            }
        }

        pieces.Add(piece);
        scores.Add(score);
        types.Add(type);
    }

    /// <summary>A minimal protobuf wire-format reader.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        public const int Varint = 0;
        public const int Fixed64 = 1;
        public const int Length = 2;
        public const int Fixed32 = 5;

        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public bool Next(out int field, out int wire)
        {
            if (_pos >= _data.Length)
            {
                field = wire = 0;
                return false;
            }

            var key = ReadVarint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            if (field == 0)
            {
                throw new FormatException($"field number 0 at byte {_pos}");
            }

            return true;
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length)
                {
                    throw new FormatException("truncated varint");
                }

                var b = _data[_pos++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            throw new FormatException($"varint longer than 10 bytes at byte {_pos}");
        }

        public uint ReadFixed32()
        {
            var value = BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
            return value;
        }

        public ReadOnlySpan<byte> ReadBytes()
        {
            var length = ReadVarint();
            if (length > (ulong)(_data.Length - _pos))
            {
                throw new FormatException($"length {length} at byte {_pos} runs past the end ({_data.Length} bytes); the file is truncated");
            }

            return Take((int)length);
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case Varint: ReadVarint(); break;
                case Fixed64: Take(8); break;
                case Length: ReadBytes(); break;
                case Fixed32: Take(4); break;
                default: throw new FormatException($"unsupported wire type {wire} at byte {_pos}");
            }
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > _data.Length - _pos)
            {
                throw new FormatException($"needs {count} bytes at byte {_pos} but the data ends at {_data.Length}; the file is truncated");
            }

            var slice = _data.Slice(_pos, count);
            _pos += count;
            return slice;
        }
    }
}
