using System.Buffers.Binary;
using System.Text.Json;
using Folio.Models;

namespace Folio.Models.Loading;

/// <summary>
/// One memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header naming
/// every tensor's dtype, shape and [begin, end) byte range in the data section, then the data.
/// Everything in the header is checked against the file before a view is handed out, so a truncated
/// or corrupt file fails here with its name instead of crashing a kernel later.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    // Real headers are kilobytes; anything this large is a corrupt length field, not a header.
    private const long MaxHeaderBytes = 100L << 20;

    private readonly MappedFile _map;

    private SafetensorsFile(MappedFile map, Dictionary<string, TensorView> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _map = map;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Path => _map.Path;

    public IReadOnlyDictionary<string, TensorView> Tensors { get; }

    /// <summary>The optional "__metadata__" string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Safetensors dtype names and the Folio dtypes they map to.</summary>
    public static string DTypeName(DType dtype) => dtype switch
    {
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        _ => throw new ArgumentException($"safetensors cannot store {dtype}; use f32, f16 or bf16"),
    };

    public static SafetensorsFile Open(string path)
    {
        var map = MappedFile.Open(path);
        try
        {
            var (tensors, metadata) = ParseHeader(map);
            return new SafetensorsFile(map, tensors, metadata);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    public void Dispose() => _map.Dispose();

    private static (Dictionary<string, TensorView>, Dictionary<string, string>) ParseHeader(MappedFile map)
    {
        string path = map.Path;
        map.CheckRange(0, 8, "the 8-byte header length");
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(map.Start, 8));
        if (headerLength is <= 0 or > MaxHeaderBytes)
        {
            throw new ModelFormatException($"{path}: header length {headerLength} is not plausible (expected 1..{MaxHeaderBytes} bytes); not a safetensors file or corrupt");
        }

        map.CheckRange(8, headerLength, "the JSON header");
        long dataStart = 8 + headerLength;
        long dataLength = map.Length - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(new ReadOnlyMemory<byte>(new ReadOnlySpan<byte>(map.Start + 8, (int)headerLength).ToArray()));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: the safetensors header is not valid JSON ({e.Message}); the file is corrupt", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException($"{path}: the safetensors header must be a JSON object");
            }

            var tensors = new Dictionary<string, TensorView>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var ranges = new List<(long Begin, long End, string Name)>();
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var m in entry.Value.EnumerateObject())
                        {
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                        }
                    }

                    continue;
                }

                var view = ParseEntry(map, entry, dataStart, dataLength);
                tensors.Add(entry.Name, view);
                ranges.Add((view.Data - map.Start - dataStart, view.Data - map.Start - dataStart + view.ByteLength, entry.Name));
            }

            ranges.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            for (int i = 1; i < ranges.Count; i++)
            {
                if (ranges[i].Begin < ranges[i - 1].End)
                {
                    throw new ModelFormatException($"{path}: tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap in the data section; the header is corrupt");
                }
            }

            return (tensors, metadata);
        }
    }

    private static TensorView ParseEntry(MappedFile map, JsonProperty entry, long dataStart, long dataLength)
    {
        string path = map.Path;
        string name = entry.Name;
        var e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
        {
            throw new ModelFormatException($"{path}: tensor '{name}': header entry needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end])");
        }

        string dtypeName = dtypeEl.GetString()!;
        DType dtype = dtypeName switch
        {
            "F32" => DType.F32,
            "F16" => DType.F16,
            "BF16" => DType.BF16,
            _ => throw new ModelFormatException($"{path}: tensor '{name}' has dtype {dtypeName}; Folio reads F32, F16 and BF16 safetensors (convert the model to one of those)"),
        };

        var shape = new long[shapeEl.GetArrayLength()];
        int k = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (!d.TryGetInt64(out long v) || v < 0)
            {
                throw new ModelFormatException($"{path}: tensor '{name}': shape {shapeEl.GetRawText()} must hold non-negative integers");
            }

            shape[k++] = v;
        }

        if (!offEl[0].TryGetInt64(out long begin) || !offEl[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw new ModelFormatException($"{path}: tensor '{name}': data_offsets {offEl.GetRawText()} must be [begin, end] with 0 <= begin <= end");
        }

        long expected;
        try
        {
            expected = DTypeConversion.ByteLength(dtype, DTypeConversion.ElementCount(shape));
        }
        catch (OverflowException)
        {
            throw new ModelFormatException($"{path}: tensor '{name}': shape [{string.Join(", ", shape)}] is too large");
        }

        if (end - begin != expected)
        {
            throw new ModelFormatException($"{path}: tensor '{name}': {dtypeName} shape [{string.Join(", ", shape)}] needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        }

        if (end > dataLength)
        {
            throw new ModelFormatException($"{path}: tensor '{name}' needs data bytes [{begin}, {end}) but the data section has {dataLength} bytes (truncated file?)");
        }

        return new TensorView(name, dtype, shape, map.Start + dataStart + begin, expected, path);
    }
}
