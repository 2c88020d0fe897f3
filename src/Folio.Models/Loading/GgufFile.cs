using System.Buffers.Binary;
using System.Text;
using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// A memory-mapped GGUF v3 (or v2) file: header, metadata, tensor infos and views of the tensor data.
/// Tensor views keep GGUF's order of elements (innermost dimension contiguous) but state their shape
/// outermost first like every other <see cref="TensorView"/>: GGUF dims [in, out] become shape [out, in].
/// Names are GGUF's own (blk.0.attn_q.weight); <see cref="GgufLoader"/> renames them.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian u32
    public const int DefaultAlignment = 32;

    private readonly MappedFile _map;

    private GgufFile(MappedFile map, uint version, Dictionary<string, GgufValue> metadata, List<GgufTensorInfo> infos, Dictionary<string, TensorView> tensors, int alignment, long dataOffset)
    {
        _map = map;
        Version = version;
        Metadata = metadata;
        TensorInfos = infos;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
    }

    public string Path => _map.Path;
    public uint Version { get; }
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> TensorInfos { get; }

    /// <summary>Views by GGUF tensor name, shape outermost first.</summary>
    public IReadOnlyDictionary<string, TensorView> Tensors { get; }
    public int Alignment { get; }
    public long DataOffset { get; }

    public static GgufFile Open(string path)
    {
        var map = MappedFile.Open(path);
        try
        {
            return Parse(map);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    public void Dispose() => _map.Dispose();

    private static GgufFile Parse(MappedFile map)
    {
        var r = new Reader(map);
        uint magic = r.U32("magic");
        if (magic != Magic)
        {
            throw new ModelFormatException($"{map.Path}: not a GGUF file (the first 4 bytes are not \"GGUF\")");
        }

        uint version = r.U32("version");
        if (version is not (2 or 3))
        {
            throw new ModelFormatException($"{map.Path}: GGUF version {version} is not supported; Folio reads versions 2 and 3");
        }

        long tensorCount = r.Count("tensor count");
        long kvCount = r.Count("metadata count");
        var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            string key = r.String("metadata key");
            var type = (GgufValueType)r.U32($"type of metadata '{key}'");
            var value = r.Value(type, key);
            if (!metadata.TryAdd(key, value))
            {
                throw new ModelFormatException($"{map.Path}: metadata key '{key}' appears twice; the file is corrupt");
            }
        }

        int alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var al))
        {
            long a = al.IsInteger ? al.AsLong() : 0;
            if (a <= 0 || (a & (a - 1)) != 0 || a > 1 << 20)
            {
                throw new ModelFormatException($"{map.Path}: general.alignment must be a power of two; got {al.Value}");
            }

            alignment = (int)a;
        }

        var infos = new List<GgufTensorInfo>();
        for (long i = 0; i < tensorCount; i++)
        {
            string name = r.String("tensor name");
            uint nDims = r.U32($"dimension count of tensor '{name}'");
            if (nDims is 0 or > 4)
            {
                throw new ModelFormatException($"{map.Path}: tensor '{name}' has {nDims} dimensions; GGUF allows 1 to 4");
            }

            var dims = new long[nDims];
            for (int d = 0; d < nDims; d++)
            {
                dims[d] = r.Count($"dimension {d} of tensor '{name}'");
            }

            uint ggmlType = r.U32($"type of tensor '{name}'");
            long offset = r.Count($"offset of tensor '{name}'");
            infos.Add(new GgufTensorInfo(name, dims, ggmlType, offset));
        }

        long dataOffset = AlignUp(r.Position, alignment);
        var tensors = new Dictionary<string, TensorView>(StringComparer.Ordinal);
        foreach (var info in infos)
        {
            var view = MakeView(map, info, dataOffset, alignment);
            if (!tensors.TryAdd(info.Name, view))
            {
                throw new ModelFormatException($"{map.Path}: tensor '{info.Name}' appears twice; the file is corrupt");
            }
        }

        return new GgufFile(map, version, metadata, infos, tensors, alignment, dataOffset);
    }

    private static TensorView MakeView(MappedFile map, GgufTensorInfo info, long dataOffset, int alignment)
    {
        string type = GgmlType.Name(info.GgmlType);
        var dtype = GgmlType.ToDType(info.GgmlType)
            ?? throw new ModelFormatException($"{map.Path}: tensor '{info.Name}' has GGML type {type}; Folio reads {GgmlType.SupportedNames} (re-quantize the file to one of those)");
        if (info.Offset % alignment != 0)
        {
            throw new ModelFormatException($"{map.Path}: tensor '{info.Name}' ({type}) starts at data offset {info.Offset}, which is not a multiple of the alignment {alignment}; the file is corrupt");
        }

        var shape = info.Dims.Reverse().ToArray();
        long elements;
        try
        {
            elements = DTypeConversion.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw new ModelFormatException($"{map.Path}: tensor '{info.Name}' ({type}) has an impossible shape [{string.Join(", ", shape)}]; the file is corrupt");
        }

        // A block covers consecutive values of one row, so the row (GGUF's first dimension) must hold whole blocks.
        var layout = QuantLayouts.Of(dtype);
        long bytes = DTypeConversion.ByteLength(dtype, elements);
        if (bytes < 0 || info.Dims[0] % layout.Values != 0)
        {
            throw new ModelFormatException($"{map.Path}: tensor '{info.Name}' is {type} but its row length {info.Dims[0]} is not a multiple of {type}'s block of {layout.Values} values; the file is corrupt");
        }

        if (info.Offset > map.Length || dataOffset + info.Offset > map.Length - bytes)
        {
            throw new ModelFormatException($"{map.Path}: tensor '{info.Name}' ({type}, {bytes} bytes) needs bytes [{dataOffset + info.Offset}, {dataOffset + info.Offset + bytes}) but the file has {map.Length} bytes (truncated file?)");
        }

        return new TensorView(info.Name, dtype, shape, map.Start + dataOffset + info.Offset, bytes, map.Path) { IsFileMapped = true };
    }

    internal static long AlignUp(long x, long alignment) => (x + alignment - 1) / alignment * alignment;

    /// <summary>A bounds-checked little-endian cursor over the mapping; running off the end names the field being read.</summary>
    private struct Reader(MappedFile map)
    {
        // Larger counts or strings than this are corrupt length fields, not data.
        private const long MaxCount = 1L << 40;

        public long Position { get; private set; }

        private ReadOnlySpan<byte> Take(long n, string what)
        {
            map.CheckRange(Position, n, what);
            var span = new ReadOnlySpan<byte>(map.Start + Position, checked((int)n));
            Position += n;
            return span;
        }

        public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

        public ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

        public long Count(string what)
        {
            ulong v = U64(what);
            if (v > MaxCount)
            {
                throw new ModelFormatException($"{map.Path}: {what} is {v}, which is not plausible; the file is corrupt");
            }

            return (long)v;
        }

        public string String(string what)
        {
            long n = Count($"length of {what}");
            if (n > int.MaxValue)
            {
                throw new ModelFormatException($"{map.Path}: {what} claims {n} bytes; the file is corrupt");
            }

            return Encoding.UTF8.GetString(Take(n, what));
        }

        public GgufValue Value(GgufValueType type, string key) => new(type, Scalar(type, key));

        private object Scalar(GgufValueType type, string key)
        {
            string what = $"value of metadata '{key}'";
            switch (type)
            {
                case GgufValueType.UInt8: return (long)Take(1, what)[0];
                case GgufValueType.Int8: return (long)(sbyte)Take(1, what)[0];
                case GgufValueType.UInt16: return (long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));
                case GgufValueType.Int16: return (long)BinaryPrimitives.ReadInt16LittleEndian(Take(2, what));
                case GgufValueType.UInt32: return (long)BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));
                case GgufValueType.Int32: return (long)BinaryPrimitives.ReadInt32LittleEndian(Take(4, what));
                case GgufValueType.UInt64: return (long)BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));
                case GgufValueType.Int64: return BinaryPrimitives.ReadInt64LittleEndian(Take(8, what));
                case GgufValueType.Float32: return (double)BinaryPrimitives.ReadSingleLittleEndian(Take(4, what));
                case GgufValueType.Float64: return BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what));
                case GgufValueType.Bool:
                    byte b = Take(1, what)[0];
                    return b switch
                    {
                        0 => false,
                        1 => true,
                        _ => throw new ModelFormatException($"{map.Path}: metadata '{key}' is a bool stored as {b}; the file is corrupt"),
                    };
                case GgufValueType.String: return String(what);
                case GgufValueType.Array:
                    var elementType = (GgufValueType)U32($"element type of metadata '{key}'");
                    long count = Count($"length of metadata '{key}'");
                    // Every element takes at least one byte: a count beyond the file is corrupt, not a reason to allocate.
                    if (count > map.Length - Position)
                    {
                        throw new ModelFormatException($"{map.Path}: metadata '{key}' claims {count} elements but only {map.Length - Position} bytes remain (truncated or corrupt file)");
                    }

                    var items = new object[count];
                    for (long i = 0; i < count; i++)
                    {
                        items[i] = Scalar(elementType, key);
                    }

                    return new GgufArray(elementType, items);
                default:
                    throw new ModelFormatException($"{map.Path}: metadata '{key}' has unknown value type {(uint)type}; the file is corrupt");
            }
        }
    }
}
