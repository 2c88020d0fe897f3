using System.Text;
using Folio.Models.Loading;
using Folio.Testing;
using Folio.Text.Tokenization;
using LLama.Common;
using LLama.Native;
using LLama;

using Folio.ModelTools;

namespace Folio.Text.Tests.Tokenization;

/// <summary>
/// llama.cpp's own tokenizer (through LLamaSharp) on GGUF files carrying the synthetic
/// vocabularies: Folio must produce the same ids for the same text, and the same bytes per token.
/// </summary>
public sealed class LlamaCppTokenizerAgreementTests
{
    public static TheoryData<TestTokenizerKind, int> Vocabularies => new()
    {
        { TestTokenizerKind.ByteLevelBpe, 300 },
        { TestTokenizerKind.ByteLevelBpe, 3000 },
        { TestTokenizerKind.SentencePiece, 400 },
        { TestTokenizerKind.SentencePiece, 3000 },
    };

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Encode_gives_the_ids_llama_cpp_gives_for_the_same_gguf(TestTokenizerKind kind, int vocab)
    {
        using var folder = new TempDir();
        using var model = LoadGguf(folder, kind, vocab, out var spec);
        var ours = TokenizerFactory.FromSpec(spec);
        var specialText = spec.Tokens[spec.EosTokenIds[0]];
        foreach (var text in SampleTexts.All.Append(Gpt2TokenizerTests.LongMixedText()).Append($"before{specialText}after"))
        {
            var expected = model.Tokenize(text, true, true, Encoding.UTF8).Select(t => (int)t).ToArray();
            Assert.Equal(expected, ours.Encode(text, addSpecialTokens: true));
        }
    }

    [Theory]
    [InlineData("default")]
    [InlineData("llama-bpe")]
    [InlineData("qwen2")]
    [InlineData("smollm")]
    public void Encode_splits_words_as_llama_cpp_does_for_each_pre_tokenizer_name(string pre)
    {
        var options = new TestModelOptions { Dim = 32, Layers = 1, Heads = 2, KvHeads = 1, Ffn = 32, Vocab = 3000, Seed = 3 };
        var spec = SyntheticTokenizers.ByteLevelBpe(options.Vocab) with { Pre = pre };
        using var folder = new TempDir();
        var path = folder.File("pre.gguf");
        GgufModelWriter.Write(path, TestModelWriter.Config(options), spec, TestModelWriter.Weights(options), Folio.Models.DType.F32);
        using var model = LLamaWeights.LoadFromFile(new ModelParams(path) { GpuLayerCount = 0, VocabOnly = true });
        var ours = TokenizerFactory.FromSpec(spec);
        foreach (var text in SampleTexts.All.Append(Gpt2TokenizerTests.LongMixedText()).Append("don't (stop) $5+3=8 ^~| 1234567 'S"))
        {
            var expected = model.Tokenize(text, true, true, Encoding.UTF8).Select(t => (int)t).ToArray();
            Assert.Equal(expected, ours.Encode(text, addSpecialTokens: true));
        }
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Token_bytes_equal_llama_cpps_piece_for_every_token(TestTokenizerKind kind, int vocab)
    {
        using var folder = new TempDir();
        using var model = LoadGguf(folder, kind, vocab, out var spec);
        var ours = TokenizerFactory.FromSpec(spec);
        var buffer = new byte[256];
        for (var id = 0; id < spec.Tokens.Count; id++)
        {
            if (spec.TokenTypes[id] == GgufTokenType.Unknown)
            {
                continue; // llama.cpp renders <unk> as U+2585; Folio, like Hugging Face, as nothing
            }

            var length = (int)model.NativeHandle.TokenToSpan((LLamaToken)id, buffer, 0, false);
            Assert.True(length >= 0, $"token {id} does not fit the buffer");
            Assert.Equal(buffer.AsSpan(0, length).ToArray(), ours.TokenBytes(id).ToArray());
        }
    }

    private static LLamaWeights LoadGguf(TempDir folder, TestTokenizerKind kind, int vocab, out TokenizerSpec spec)
    {
        var options = new TestModelOptions { Dim = 32, Layers = 1, Heads = 2, KvHeads = 1, Ffn = 32, Vocab = vocab, Tokenizer = kind, Seed = 3 };
        spec = TestModelWriter.Tokenizer(options);
        var path = folder.File("tok.gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, options);
        return LLamaWeights.LoadFromFile(new ModelParams(path) { GpuLayerCount = 0, VocabOnly = true });
    }
}
