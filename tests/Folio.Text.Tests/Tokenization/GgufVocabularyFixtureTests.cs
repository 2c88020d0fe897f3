using System.Text;
using Folio.Models.Loading;
using Folio.Text.Tests.Corpus;
using Folio.Text.Tests.Support;
using Folio.Text.Tokenization;
using LLama;
using LLama.Common;

namespace Folio.Text.Tests.Tokenization;

/// <summary>
/// Real vocabularies (../shared/fixtures/gguf-vocab, from llama.cpp's repository) through Folio's
/// GGUF tokenizer: llama.cpp's own expected ids for its test strings (.inp/.out), and llama.cpp
/// itself (LLamaSharp, the same file loaded vocabulary-only) on Folio's corpus with special-token
/// text, BOS and every pre-tokenizer there.
/// </summary>
public sealed class GgufVocabularyFixtureTests
{
    public static TheoryData<string> WithExpectedIds =>
        new(["llama-spm", "phi-3", "gpt-2", "starcoder", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact"]);

    public static TheoryData<string> All =>
        new(["llama-spm", "phi-3", "gpt-2", "starcoder", "deepseek-coder", "deepseek-llm", "falcon", "mpt", "refact", "gpt-neox", "baichuan"]);

    private static string VocabPath(string name) => RepositoryPaths.Fixture("gguf-vocab", $"ggml-vocab-{name}.gguf");

    private static (TokenizerSpec Spec, ITokenizer Tokenizer) Load(string name)
    {
        var path = VocabPath(name);
        using var file = GgufFile.Open(path);
        var spec = GgufTokenizerMetadata.Read(path, file.Metadata);
        return (spec, TokenizerFactory.FromSpec(spec));
    }

    [FixtureTheory]
    [MemberData(nameof(WithExpectedIds))]
    public void Every_test_string_of_llama_cpp_gives_its_expected_ids(string name)
    {
        var (_, tokenizer) = Load(name);
        var texts = File.ReadAllText(VocabPath(name) + ".inp").Split("\n__ggml_vocab_test__\n");
        var lines = File.ReadAllText(VocabPath(name) + ".out").Split('\n');
        Assert.True(texts.Length >= 40, $"{name}: only {texts.Length} test strings");
        for (var i = 0; i < texts.Length; i++)
        {
            var expected = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            var actual = tokenizer.Encode(texts[i], addSpecialTokens: false);
            Assert.True(expected.SequenceEqual(actual),
                $"{name} case {i} {System.Text.Json.JsonSerializer.Serialize(texts[i])}: expected [{string.Join(' ', expected)}], Folio [{string.Join(' ', actual)}]");
        }
    }

    [FixtureTheory]
    [MemberData(nameof(All))]
    public void The_corpus_gives_the_ids_llama_cpp_gives_for_the_same_file(string name)
    {
        var (_, tokenizer) = Load(name);
        using var weights = LLamaWeights.LoadFromFile(new ModelParams(VocabPath(name)) { GpuLayerCount = 0, VocabOnly = true });
        var corpus = TokenizerCorpus.Strings();
        foreach (var text in corpus)
        {
            var expected = weights.Tokenize(text, true, true, Encoding.UTF8).Select(t => (int)t).ToArray();
            var actual = tokenizer.Encode(text, addSpecialTokens: true);
            Assert.True(expected.SequenceEqual(actual),
                $"{name} {System.Text.Json.JsonSerializer.Serialize(text)}: llama.cpp [{string.Join(' ', expected)}], Folio [{string.Join(' ', actual)}]");
        }
    }

    [FixtureFact]
    public void Phi_3_special_tokens_swallow_the_whitespace_after_them_as_llama_cpp_does()
    {
        var (spec, tokenizer) = Load("phi-3");
        Assert.Equal("Phi3", spec.ModelName);
        var end = spec.Tokens.ToList().IndexOf("<|end|>");
        var endOfText = spec.Tokens.ToList().IndexOf("<|endoftext|>");
        Assert.Equal(tokenizer.Encode("<|end|>Hi", false), tokenizer.Encode("<|end|>\n \tHi", false));
        Assert.Equal(end, tokenizer.Encode("<|end|>\n", false).Single());

        // llama.cpp exempts <|endoftext|>, <s> and <unk>: the whitespace after them stays text.
        Assert.NotEqual(tokenizer.Encode("<|endoftext|>Hi", false), tokenizer.Encode("<|endoftext|>\nHi", false));
        Assert.Equal(endOfText, tokenizer.Encode("<|endoftext|>\nHi", false)[0]);
    }

    [FixtureFact]
    public void A_vocabulary_of_another_model_name_keeps_the_whitespace_after_special_tokens()
    {
        var (spec, _) = Load("phi-3");
        var renamed = TokenizerFactory.FromSpec(spec with { ModelName = "some-llama" });
        Assert.NotEqual(renamed.Encode("<|end|>Hi", false), renamed.Encode("<|end|>\nHi", false));
    }
}
