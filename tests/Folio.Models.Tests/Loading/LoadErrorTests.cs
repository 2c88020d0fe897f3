using System.Text.Json.Nodes;
using Folio.Models.Loading;
using Folio.Models;
using Folio.Testing;

using Folio.ModelTools;

namespace Folio.Models.Tests.Loading;

/// <summary>Issue 2: each kind of bad input stops loading with a message naming the file, the tensor and what was expected.</summary>
public class LoadErrorTests
{
    private static readonly TestModelOptions Small = new() { Dim = 32, Layers = 1, Heads = 2, KvHeads = 1, Ffn = 64, Vocab = 280, Seed = 3 };

    private static void EditConfig(string folder, Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Fact]
    public void Missing_path_says_what_is_accepted()
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load("/nonexistent/model-x"));
        Assert.Contains("/nonexistent/model-x", e.Message);
        Assert.Contains("demo", e.Message);
        Assert.Contains(".gguf", e.Message);
    }

    [Fact]
    public void File_of_unknown_kind_says_what_is_accepted()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.txt"), "hello");
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir.File("notes.txt")));
        Assert.Contains("notes.txt", e.Message);
        Assert.Contains("Hugging Face model folder", e.Message);
    }

    [Fact]
    public void Folder_without_config_names_the_missing_file()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, "config.json"), e.Message);
    }

    [Fact]
    public void Missing_shard_is_named()
    {
        using var dir = new TempDir();
        string folder = dir.File("hf");
        TestModelWriter.Write(folder, TestModelFormat.HuggingFace, Small with { Shards = 2 });
        string shard = Path.Combine(folder, "model-00002-of-00002.safetensors");
        File.Delete(shard);
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder));
        Assert.Contains(shard, e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Missing_tensor_is_named_with_its_expected_shape()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        // Leave out one layer's ffn_up by writing the GGUF by hand from the generated weights.
        var o = Small;
        var config = TestModelWriter.Config(o);
        var weights = TestModelWriter.Weights(o);
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.AddUInt32("llama.context_length", 128);
        w.AddUInt32("llama.embedding_length", (uint)config.HiddenSize);
        w.AddUInt32("llama.block_count", 1);
        w.AddUInt32("llama.feed_forward_length", (uint)config.IntermediateSize);
        w.AddUInt32("llama.attention.head_count", (uint)config.NumHeads);
        w.AddUInt32("llama.attention.head_count_kv", (uint)config.NumKvHeads);
        GgufTokenizerMetadataWriter.Write(w, TestModelWriter.Tokenizer(o));
        foreach (var e in ModelTensorChecker.Expected(config).Where(e => !e.Name.EndsWith("up_proj.weight", StringComparison.Ordinal)))
        {
            w.AddTensor(GgufTensorNames.ToGguf(e.Name)!, GgmlType.F32, e.Shape.Reverse().ToArray(), DTypeConversion.Encode(weights[e.Name], DType.F32));
        }

        w.Write(path);
        var ex = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("model.layers.0.mlp.up_proj.weight", ex.Message);
        Assert.Contains("missing", ex.Message);
        Assert.Contains("[64, 32]", ex.Message);
    }

    [Fact]
    public void Tensor_of_the_wrong_shape_names_file_tensor_and_expected_shape()
    {
        using var dir = new TempDir();
        string folder = dir.File("hf");
        TestModelWriter.Write(folder, TestModelFormat.HuggingFace, Small);
        EditConfig(folder, j => j["intermediate_size"] = 48);
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder));
        Assert.Contains(Path.Combine(folder, "model.safetensors"), e.Message);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", e.Message);
        Assert.Contains("[64, 32]", e.Message); // what the file has
        Assert.Contains("expected [48, 32]", e.Message);
    }

    [Fact]
    public void Unknown_hugging_face_architecture_is_named()
    {
        using var dir = new TempDir();
        string folder = dir.File("hf");
        TestModelWriter.Write(folder, TestModelFormat.HuggingFace, Small);
        EditConfig(folder, j => j["architectures"] = new JsonArray("GPT2LMHeadModel"));
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("GPT2LMHeadModel", e.Message);
        Assert.Contains("LlamaForCausalLM", e.Message);
    }

    [Fact]
    public void Unknown_gguf_architecture_is_named()
    {
        using var dir = new TempDir();
        var w = new GgufWriter();
        w.AddString("general.architecture", "gpt2");
        w.Write(dir.File("g.gguf"));
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir.File("g.gguf")));
        Assert.Contains(dir.File("g.gguf"), e.Message);
        Assert.Contains("\"gpt2\"", e.Message);
        Assert.Contains("llama", e.Message);
    }

    [Fact]
    public void Unsupported_dtype_in_a_model_folder_is_named()
    {
        using var dir = new TempDir();
        string folder = dir.File("hf");
        TestModelWriter.Write(folder, TestModelFormat.HuggingFace, Small);
        string st = Path.Combine(folder, "model.safetensors");
        SafetensorsTests.WriteRaw(st, """{"model.embed_tokens.weight":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder));
        Assert.Contains(st, e.Message);
        Assert.Contains("model.embed_tokens.weight", e.Message);
        Assert.Contains("F64", e.Message);
    }

    [Fact]
    public void Truncated_gguf_names_the_file_and_the_tensor_that_does_not_fit()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, Small);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("'", e.Message); // a tensor name in quotes
    }

    [Fact]
    public void Truncated_safetensors_shard_names_file_and_tensor()
    {
        using var dir = new TempDir();
        string folder = dir.File("hf");
        TestModelWriter.Write(folder, TestModelFormat.HuggingFace, Small);
        string st = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(st);
        File.WriteAllBytes(st, bytes[..(bytes.Length - 4)]);
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder));
        Assert.Contains(st, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("model.", e.Message);
    }

    [Fact]
    public void Corrupt_gguf_metadata_count_is_rejected_without_allocating_it()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, Small);
        var bytes = File.ReadAllBytes(path);
        BitConverter.TryWriteBytes(bytes.AsSpan(16, 8), ulong.MaxValue / 2);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void Corrupt_config_json_is_named()
    {
        using var dir = new TempDir();
        string folder = dir.File("hf");
        TestModelWriter.Write(folder, TestModelFormat.HuggingFace, Small);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{ \"hidden_size\": ");
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(folder));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }
}
