using System.Text.Json.Nodes;
using Folio.Testing;
using Folio.Text.Tokenization;

using Folio.ModelTools;

namespace Folio.Text.Tests.Tokenization;

public sealed class HuggingFaceTokenizerTests
{
    [Theory]
    [InlineData("gpt-2")]
    [InlineData("llama-bpe")]
    [InlineData("qwen2")]
    [InlineData("default")]
    public void Byte_level_tokenizer_json_written_then_read_encodes_identically(string pre)
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(3000) with { Pre = pre };
        using var folder = new TempDir();
        TokenizerJsonWriter.WriteFolder(spec, folder.Path);
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        var expected = TokenizerFactory.FromSpec(spec);
        Assert.Equal(expected.VocabSize, loaded.VocabSize);
        Assert.Equal(expected.BosTokenId, loaded.BosTokenId);
        Assert.Equal(expected.EosTokenIds, loaded.EosTokenIds);
        Assert.Equal(expected.AddBosToken, loaded.AddBosToken);
        foreach (var text in SampleTexts.All.Append(Gpt2TokenizerTests.LongMixedText()).Append("a<|endoftext|>b"))
        {
            Assert.Equal(expected.Encode(text, true), loaded.Encode(text, true));
        }
    }

    [Fact]
    public void Sentence_piece_tokenizer_json_written_then_read_encodes_identically()
    {
        // The spec merges by score; the written file carries merges derived from the scores.
        var spec = SyntheticTokenizers.SentencePieceBpe(3000);
        using var folder = new TempDir();
        TokenizerJsonWriter.WriteFolder(spec, folder.Path);
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        var expected = TokenizerFactory.FromSpec(spec);
        Assert.True(loaded.AddBosToken);
        Assert.Equal(1, loaded.BosTokenId);
        Assert.Equal([2], loaded.EosTokenIds);
        foreach (var text in SampleTexts.All.Append(Gpt2TokenizerTests.LongMixedText()).Append("x</s>y"))
        {
            Assert.Equal(expected.Encode(text, true), loaded.Encode(text, true));
        }
    }

    [Fact]
    public void Gpt2_tokenizer_json_written_then_read_encodes_like_gpt2()
    {
        using var folder = new TempDir();
        TokenizerJsonWriter.WriteFolder(TokenizerFactory.Gpt2Spec(), folder.Path);
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        Assert.Equal([15496, 995], loaded.Encode("Hello world", true));
        Assert.Equal([50256], loaded.EosTokenIds);
        Assert.False(loaded.AddBosToken);
    }

    [Fact]
    public void Bos_rule_template_processing_with_bos_adds_bos_for_a_byte_level_model()
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(1000) with { AddBosToken = true };
        using var folder = new TempDir();
        File.WriteAllText(folder.File("tokenizer.json"), TokenizerJsonWriter.Write(spec)); // no tokenizer_config.json
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        Assert.True(loaded.AddBosToken);
        Assert.Equal(999, loaded.Encode("hi", true)[0]);
        Assert.NotEqual(999, loaded.Encode("hi", false)[0]);
    }

    [Fact]
    public void Bos_rule_tokenizer_config_add_bos_false_overrides_the_template()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(1000);
        using var folder = new TempDir();
        File.WriteAllText(folder.File("tokenizer.json"), TokenizerJsonWriter.Write(spec));
        File.WriteAllText(folder.File("tokenizer_config.json"), """{"add_bos_token": false, "bos_token": {"content": "<s>", "special": true}}""");
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        Assert.False(loaded.AddBosToken);
        Assert.Equal(1, loaded.BosTokenId);
        Assert.NotEqual(1, loaded.Encode("hi", true)[0]);
    }

    [Fact]
    public void Bos_rule_without_config_or_template_follows_the_model_family()
    {
        foreach (var (spec, expectBos) in new[] { (SyntheticTokenizers.SentencePieceBpe(1000), true), (SyntheticTokenizers.ByteLevelBpe(1000), false) })
        {
            var json = JsonNode.Parse(TokenizerJsonWriter.Write(spec))!.AsObject();
            json["post_processor"] = null;
            using var folder = new TempDir();
            File.WriteAllText(folder.File("tokenizer.json"), json.ToJsonString());
            File.WriteAllText(folder.File("config.json"), $$"""{"bos_token_id": {{spec.BosTokenId}}}""");
            var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
            Assert.Equal(expectBos, loaded.AddBosToken);
            Assert.Equal(spec.BosTokenId, loaded.BosTokenId);
        }
    }

    [Fact]
    public void Eos_ids_are_gathered_from_tokenizer_config_config_and_generation_config()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(1000);
        using var folder = new TempDir();
        TokenizerJsonWriter.WriteFolder(spec, folder.Path);
        File.WriteAllText(folder.File("config.json"), """{"eos_token_id": 2}""");
        File.WriteAllText(folder.File("generation_config.json"), """{"eos_token_id": [2, 500, 501]}""");
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        Assert.Equal([2, 500, 501], loaded.EosTokenIds);
    }

    [Fact]
    public void Metaspace_prepend_scheme_first_prefixes_only_the_start_of_the_text()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(2000);
        var json = JsonNode.Parse(TokenizerJsonWriter.Write(spec))!.AsObject();
        json["normalizer"] = null;
        json["pre_tokenizer"] = JsonNode.Parse("""{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": false}""");
        using var folder = new TempDir();
        File.WriteAllText(folder.File("tokenizer.json"), json.ToJsonString());
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        var always = TokenizerFactory.FromSpec(spec);
        Assert.Equal(always.Encode("the light", false), loaded.Encode("the light", false));
        Assert.Equal(" the keeperlight", loaded.Decode(loaded.Encode("the keeper</s>light", false))); // no ▁ after the special token
    }

    [Fact]
    public void Unsupported_model_type_is_refused_naming_the_file_and_key()
    {
        using var folder = new TempDir();
        File.WriteAllText(folder.File("tokenizer.json"), """{"model": {"type": "WordPiece", "vocab": {"a": 0}}}""");
        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFactory.FromHuggingFaceFolder(folder.Path));
        Assert.Contains("tokenizer.json", error.Message);
        Assert.Contains("model.type", error.Message);
    }

    [Fact]
    public void Folder_without_tokenizer_files_is_refused_saying_what_is_missing()
    {
        using var folder = new TempDir();
        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFactory.FromHuggingFaceFolder(folder.Path));
        Assert.Contains("tokenizer.json", error.Message);
        Assert.Contains("tokenizer.model", error.Message);
    }

    [Fact]
    public void From_spec_unknown_pre_tokenizer_is_refused_naming_the_key()
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(300) with { Pre = "tekken" };
        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFactory.FromSpec(spec));
        Assert.Contains("tokenizer.ggml.pre", error.Message);
        Assert.Contains("tekken", error.Message);
    }
}
