using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;
using LLama.Native;

namespace Folio.Models.Tests.Quantization;

/// <summary>
/// GGUF files holding quantized tensors: every type Folio reads opens with the right dtype and size,
/// a file llama.cpp's quantizer made loads as a model, and each way a quantized tensor can be wrong
/// stops loading with a message naming the file, the tensor and the type.
/// </summary>
public sealed class QuantizedGgufLoadTests
{
    private static string WriteSingleTensor(TempDir dir, uint ggmlType, long[] dims, byte[] data, string name = "blk.0.ffn_up.weight")
    {
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.AddTensor(name, ggmlType, dims, data);
        string path = dir.File($"t{ggmlType}.gguf");
        w.Write(path);
        return path;
    }

    public static TheoryData<DType> Types => new(QuantLayouts.Quantized);

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_supported_type_opens_with_its_dtype_shape_and_bytes(DType type)
    {
        using var dir = new TempDir();
        var (values, bytes) = GgmlReferenceBlocks.Layout(type);
        var data = GgmlReferenceBlocks.RandomBlocks(type, 6, new Random(1), 0.1f);
        string path = WriteSingleTensor(dir, GgmlType.FromDType(type), [2L * values, 3], data);
        using var file = GgufFile.Open(path);
        var t = file.Tensors["blk.0.ffn_up.weight"];
        Assert.Equal(type, t.DType);
        Assert.Equal([3L, 2L * values], t.Shape);
        Assert.Equal(6L * bytes, t.ByteLength);
        Assert.Equal(type.ToString(), GgmlType.Name(GgmlType.FromDType(type)));
    }

    [Fact]
    public void A_row_that_is_not_whole_blocks_is_refused_naming_file_tensor_and_type()
    {
        using var dir = new TempDir();
        // 100 values a row cannot hold q4_K's 256-value super-blocks.
        string path = WriteSingleTensor(dir, GgmlType.Q4_K, [100, 4], new byte[144 * 2]);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'blk.0.ffn_up.weight'", e.Message);
        Assert.Contains("Q4_K", e.Message);
        Assert.Contains("256", e.Message);
    }

    [Fact]
    public void A_truncated_quantized_tensor_is_refused_naming_file_tensor_and_type()
    {
        using var dir = new TempDir();
        var data = GgmlReferenceBlocks.RandomBlocks(DType.Q6_K, 8, new Random(2), 0.1f);
        string path = WriteSingleTensor(dir, GgmlType.Q6_K, [512, 4], data);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'blk.0.ffn_up.weight'", e.Message);
        Assert.Contains("Q6_K", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData(99u, "unknown type 99")]
    [InlineData(16u, "IQ2_XXS")]
    [InlineData(15u, "Q8_K")]
    public void An_unknown_or_unsupported_type_is_refused_naming_file_tensor_and_type(uint type, string named)
    {
        using var dir = new TempDir();
        string path = WriteSingleTensor(dir, type, [256, 1], new byte[256]);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'blk.0.ffn_up.weight'", e.Message);
        Assert.Contains(named, e.Message);
        Assert.Contains("Q4_K", e.Message); // the list of what Folio reads
    }

    [Fact]
    public void A_file_from_llama_cpps_quantizer_loads_with_its_mix_of_types()
    {
        using var dir = new TempDir();
        string f32 = dir.File("m-f32.gguf");
        TestModelWriter.Write(f32, TestModelFormat.Gguf, new TestModelOptions { Dim = 256, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 512, Vocab = 300, Seed = 5 });
        string q = dir.File("m-q4_k_m.gguf");
        try
        {
            NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        }
        catch (InvalidOperationException)
        {
            // Another test class loaded llama.cpp first: only its log stays on.
        }

        NativeApi.llama_empty_call();
        var p = LLamaModelQuantizeParams.Default();
        p.ftype = LLamaFtype.MOSTLY_Q4_K_M;
        p.nthread = 2;
        Assert.Equal(0u, NativeApi.llama_model_quantize(f32, q, ref p));

        using var model = ModelLoader.Load(q);
        var types = model.Tensors.Values.Select(t => t.DType).Distinct().ToHashSet();
        Assert.Contains(DType.Q4_K, types);
        Assert.Contains(DType.Q6_K, types);
        Assert.Equal(DType.F32, model.Require("model.norm.weight").DType);
        Assert.True(new FileInfo(q).Length < new FileInfo(f32).Length / 4);
    }
}
