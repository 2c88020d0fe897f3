using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;

namespace Folio.Models.Tests.Loading;

/// <summary>
/// Sliding windows read from GGUF: phi3's phi3.attention.sliding_window (as llama.cpp's converter
/// writes it) and llama's llama.attention.sliding_window (Folio's writer puts it there for a
/// Mistral-shaped model; llama.cpp's converter writes none for Mistral) window every layer, and the
/// served context stays context_length.
/// </summary>
public sealed class SlidingWindowGgufTests
{
    [Fact]
    public void A_mistral_shaped_gguf_windows_every_layer_and_serves_its_whole_context()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions { Arch = TestArchitecture.Mistral, SlidingWindow = 8, MaxPositions = 1024 });
        using var model = ModelLoader.Load(path);
        Assert.Equal("llama", model.Config.Architecture);
        Assert.Equal(8, model.Config.WindowOfEveryLayer);
        Assert.Equal(1024, model.Config.MaxPositionEmbeddings);
    }

    [Fact]
    public void A_llama_gguf_without_the_key_attends_over_the_whole_context()
    {
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions());
        using var model = ModelLoader.Load(path);
        Assert.Null(model.Config.SlidingWindow);
    }

    [Fact]
    public void A_phi3_gguf_window_windows_every_layer_instead_of_capping_the_context()
    {
        var o = new TestModelOptions { Arch = TestArchitecture.Phi3, MaxPositions = 4096 };
        using var dir = new TempDir();
        string path = dir.File("m.gguf");
        GgufModelWriter.Write(path, TestModelWriter.Config(o) with { SlidingWindow = 2047 }, TestModelWriter.Tokenizer(o), TestModelWriter.Weights(o), DType.F32);
        using var model = ModelLoader.Load(path);
        Assert.Equal(2047, model.Config.WindowOfEveryLayer);
        Assert.Equal(4096, model.Config.MaxPositionEmbeddings);
    }
}
