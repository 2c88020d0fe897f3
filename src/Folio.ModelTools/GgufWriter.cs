using System.Text;
using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.ModelTools;

/// <summary>
/// Writes a GGUF v3 file: header, metadata in insertion order, tensor infos, then every tensor's data
/// aligned to <see cref="Alignment"/>. Tensors are given with GGUF dims (innermost first) and bytes
/// already in the GGML encoding of their type.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<(string Key, GgufValueType Type, object Value)> _metadata = [];
    private readonly List<(string Name, long[] Dims, uint Type, byte[] Data)> _tensors = [];

    /// <summary>Data alignment; anything other than 32 is also written as general.alignment.</summary>
    public int Alignment { get; init; } = GgufFile.DefaultAlignment;

    public void AddString(string key, string value) => _metadata.Add((key, GgufValueType.String, value));
    public void AddUInt32(string key, uint value) => _metadata.Add((key, GgufValueType.UInt32, value));
    public void AddInt32(string key, int value) => _metadata.Add((key, GgufValueType.Int32, value));
    public void AddFloat32(string key, float value) => _metadata.Add((key, GgufValueType.Float32, value));
    public void AddBool(string key, bool value) => _metadata.Add((key, GgufValueType.Bool, value));
    public void AddStringArray(string key, IReadOnlyList<string> values) => _metadata.Add((key, GgufValueType.Array, new GgufArray(GgufValueType.String, values.Cast<object>().ToArray())));
    public void AddInt32Array(string key, IReadOnlyList<int> values) => _metadata.Add((key, GgufValueType.Array, new GgufArray(GgufValueType.Int32, values.Select(v => (object)(long)v).ToArray())));
    public void AddFloat32Array(string key, IReadOnlyList<float> values) => _metadata.Add((key, GgufValueType.Array, new GgufArray(GgufValueType.Float32, values.Select(v => (object)(double)v).ToArray())));

    /// <summary>Adds a metadata value of any type (arrays as <see cref="GgufArray"/> with longs/doubles/strings/bools as items).</summary>
    public void Add(string key, GgufValueType type, object value) => _metadata.Add((key, type, value));

    /// <param name="dims">GGUF order: innermost (contiguous) dimension first, i.e. [in_features, out_features] for a linear weight.</param>
    public void AddTensor(string name, uint ggmlType, long[] dims, byte[] data) => _tensors.Add((name, dims, ggmlType, data));

    public void Write(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true);
        var metadata = new List<(string Key, GgufValueType Type, object Value)>(_metadata);
        if (Alignment != GgufFile.DefaultAlignment && !metadata.Any(m => m.Key == "general.alignment"))
        {
            metadata.Insert(0, ("general.alignment", GgufValueType.UInt32, (uint)Alignment));
        }

        w.Write(GgufFile.Magic);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, type, value) in metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            WriteValue(w, type, value);
        }

        long offset = 0;
        foreach (var (name, dims, type, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (long d in dims)
            {
                w.Write((ulong)d);
            }

            w.Write(type);
            w.Write((ulong)offset);
            offset = GgufFile.AlignUp(offset + data.Length, Alignment);
        }

        Pad(w, file.Position);
        long dataStart = file.Position;
        foreach (var (_, _, _, data) in _tensors)
        {
            w.Write(data);
            Pad(w, file.Position - dataStart);
        }
    }

    private void Pad(BinaryWriter w, long position)
    {
        long pad = GgufFile.AlignUp(position, Alignment) - position;
        for (long i = 0; i < pad; i++)
        {
            w.Write((byte)0);
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, object value)
    {
        var ic = System.Globalization.CultureInfo.InvariantCulture;
        switch (type)
        {
            case GgufValueType.UInt8: w.Write(Convert.ToByte(value, ic)); break;
            case GgufValueType.Int8: w.Write(Convert.ToSByte(value, ic)); break;
            case GgufValueType.UInt16: w.Write(Convert.ToUInt16(value, ic)); break;
            case GgufValueType.Int16: w.Write(Convert.ToInt16(value, ic)); break;
            case GgufValueType.UInt32: w.Write(Convert.ToUInt32(value, ic)); break;
            case GgufValueType.Int32: w.Write(Convert.ToInt32(value, ic)); break;
            case GgufValueType.UInt64: w.Write(Convert.ToUInt64(value, ic)); break;
            case GgufValueType.Int64: w.Write(Convert.ToInt64(value, ic)); break;
            case GgufValueType.Float32: w.Write(Convert.ToSingle(value, ic)); break;
            case GgufValueType.Float64: w.Write(Convert.ToDouble(value, ic)); break;
            case GgufValueType.Bool: w.Write((byte)((bool)value ? 1 : 0)); break;
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.Array:
                var array = (GgufArray)value;
                w.Write((uint)array.ElementType);
                w.Write((ulong)array.Items.Count);
                foreach (var item in array.Items)
                {
                    WriteValue(w, array.ElementType, item);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }
}
