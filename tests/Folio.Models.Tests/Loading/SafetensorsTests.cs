using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text;
using Folio.Models.Loading;
using Folio.Models;
using Folio.Testing;

using Folio.ModelTools;

namespace Folio.Models.Tests.Loading;

public class SafetensorsTests
{
    /// <summary>Builds a safetensors file by hand from a header string and raw data, independent of SafetensorsWriter.</summary>
    internal static void WriteRaw(string path, string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void Reader_maps_a_hand_built_file_and_exposes_each_tensor_at_its_offset()
    {
        using var dir = new TempDir();
        float[] a = [1, 2, 3, 4, 5, 6];
        Half[] b = [(Half)0.5f, (Half)(-2f)];
        var data = MemoryMarshal.AsBytes(a.AsSpan()).ToArray().Concat(MemoryMarshal.AsBytes(b.AsSpan()).ToArray()).ToArray();
        WriteRaw(dir.File("m.safetensors"), """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F16","shape":[2],"data_offsets":[24,28]}}""", data);

        using var f = SafetensorsFile.Open(dir.File("m.safetensors"));
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal([2L, 3L], f.Tensors["a"].Shape);
        Assert.Equal(DType.F32, f.Tensors["a"].DType);
        Assert.Equal(a, DTypeConversion.ToF32(f.Tensors["a"]));
        Assert.Equal([0.5f, -2f], DTypeConversion.ToF32(f.Tensors["b"]));
    }

    [Fact]
    public void Writer_output_has_the_documented_layout()
    {
        using var dir = new TempDir();
        var t1 = new EncodedTensor("x", DType.BF16, [3], DTypeConversion.Encode([1f, 2f, 3f], DType.BF16));
        var t2 = new EncodedTensor("y", DType.F32, [1, 2], DTypeConversion.Encode([7f, 8f], DType.F32));
        SafetensorsWriter.Write(dir.File("w.safetensors"), [t1, t2]);

        var bytes = File.ReadAllBytes(dir.File("w.safetensors"));
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + n) % 8);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var y = doc.RootElement.GetProperty("y");
        Assert.Equal("F32", y.GetProperty("dtype").GetString());
        Assert.Equal(6, y.GetProperty("data_offsets")[0].GetInt64());
        Assert.Equal(14, y.GetProperty("data_offsets")[1].GetInt64());
        Assert.Equal(8f, BitConverter.ToSingle(bytes, (int)(8 + n + 6 + 4)));
        Assert.Equal(8 + n + 14, bytes.Length);
    }

    [Theory]
    [InlineData("F64")]
    [InlineData("I64")]
    [InlineData("F8_E4M3")]
    public void Unsupported_dtype_is_rejected_naming_the_file_tensor_and_dtype(string dtype)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        WriteRaw(path, $$$"""{"w":{"dtype":"{{{dtype}}}","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.Contains(dtype, e.Message);
        Assert.Contains("F32, F16 and BF16", e.Message);
    }

    [Fact]
    public void Size_that_disagrees_with_shape_and_dtype_is_rejected()
    {
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        WriteRaw(path, """{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}""", new byte[12]);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("needs 16 bytes", e.Message);
    }

    [Fact]
    public void Truncated_data_section_is_rejected_naming_the_tensor()
    {
        using var dir = new TempDir();
        string path = dir.File("cut.safetensors");
        WriteRaw(path, """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", new byte[10]);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0 })]
    public void Garbage_or_cut_header_is_rejected(byte[] content)
    {
        using var dir = new TempDir();
        string path = dir.File("junk.safetensors");
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Header_that_is_not_json_is_reported_as_corrupt()
    {
        using var dir = new TempDir();
        string path = dir.File("c.safetensors");
        WriteRaw(path, "{\"w\": [1, 2", new byte[4]);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Overlapping_tensors_are_rejected()
    {
        using var dir = new TempDir();
        string path = dir.File("o.safetensors");
        WriteRaw(path, """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("overlap", e.Message);
    }
}
