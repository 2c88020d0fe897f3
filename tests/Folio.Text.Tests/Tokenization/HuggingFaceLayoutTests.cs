using System.Text.Json.Nodes;
using Folio.Testing;
using Folio.Text.Tokenization;

using Folio.ModelTools;

namespace Folio.Text.Tests.Tokenization;

/// <summary>
/// tokenizer.json layouts as published models ship them (not as Folio's writer emits them):
/// Llama 3's pre-tokenizer and post-processor, merges as pairs, Qwen-style added tokens and NFC.
/// </summary>
public sealed class HuggingFaceLayoutTests
{
    /// <summary>Llama 3's published pattern, with the (?i:...) group as the file has it.</summary>
    private const string Llama3OriginalPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static ITokenizer Load(JsonObject json, string? tokenizerConfig = null)
    {
        using var folder = new TempDir();
        File.WriteAllText(folder.File("tokenizer.json"), json.ToJsonString());
        if (tokenizerConfig is not null)
        {
            File.WriteAllText(folder.File("tokenizer_config.json"), tokenizerConfig);
        }

        return TokenizerFactory.FromHuggingFaceFolder(folder.Path);
    }

    [Fact]
    public void Llama3_layout_original_regex_merge_pairs_and_sequence_post_processor_encode_like_the_gguf_spec()
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(3000) with { Pre = "llama-bpe", AddBosToken = true };
        var json = JsonNode.Parse(TokenizerJsonWriter.Write(spec))!.AsObject();
        json["pre_tokenizer"] = JsonNode.Parse($$"""
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": {{JsonValue.Create(Llama3OriginalPattern).ToJsonString()}}}, "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
            """);
        json["post_processor"] = JsonNode.Parse("""
            {"type": "Sequence", "processors": [
              {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [],
               "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [2999], "tokens": ["<|endoftext|>"]}}}]}
            """);
        var model = json["model"]!.AsObject();
        model["merges"] = new JsonArray(spec.Merges.Select(m => (JsonNode)new JsonArray(m.Split(' ').Select(p => (JsonNode)JsonValue.Create(p)!).ToArray())).ToArray());

        var loaded = Load(json);
        var expected = TokenizerFactory.FromSpec(spec);
        Assert.True(loaded.AddBosToken);
        Assert.Equal(2999, loaded.BosTokenId);
        foreach (var text in SampleTexts.All.Append("I'M HERE, YOU'LL SEE"))
        {
            Assert.Equal(expected.Encode(text, true), loaded.Encode(text, true));
        }
    }

    [Fact]
    public void Added_tokens_special_and_not_are_matched_whole_and_only_non_special_ones_decode()
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(1000);
        var json = JsonNode.Parse(TokenizerJsonWriter.Write(spec))!.AsObject();
        var added = json["added_tokens"]!.AsArray();
        added.Add(JsonNode.Parse("""{"id": 1000, "content": "<|im_start|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}"""));
        added.Add(JsonNode.Parse("""{"id": 1001, "content": "<tool_call>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false}"""));
        var loaded = Load(json, """{"eos_token": "<|endoftext|>"}""");

        Assert.Equal(1002, loaded.VocabSize);
        var ids = loaded.Encode("<|im_start|>user<tool_call>x", false);
        Assert.Equal(1000, ids[0]);
        Assert.Contains(1001, ids);
        Assert.True(loaded.IsSpecial(1000));
        Assert.False(loaded.IsSpecial(1001));
        Assert.Equal("user<tool_call>x", loaded.Decode(ids));
        Assert.Equal([999], loaded.EosTokenIds);
    }

    [Fact]
    public void Qwen2_layout_with_nfc_normalizer_loads_and_encodes_like_the_gguf_spec()
    {
        // llama.cpp does not normalize; on already-composed text (nearly all real text) NFC changes
        // nothing, so both must agree. (Folio's build runs with invariant globalization, where .NET
        // cannot compose decomposed text: see TextNormalization.)
        var spec = SyntheticTokenizers.ByteLevelBpe(1000) with { Pre = "qwen2" };
        var loaded = Load(JsonNode.Parse(TokenizerJsonWriter.Write(spec))!.AsObject());
        var expected = TokenizerFactory.FromSpec(spec);
        foreach (var text in SampleTexts.All)
        {
            Assert.Equal(expected.Encode(text, false), loaded.Encode(text, false));
        }
    }

    [Fact]
    public void Encode_from_many_threads_at_once_gives_the_same_ids_as_one_thread()
    {
        var tokenizers = new[] { TokenizerFactory.Gpt2(), TokenizerFactory.FromSpec(SyntheticTokenizers.SentencePieceBpe(2000)) };
        foreach (var tokenizer in tokenizers)
        {
            var texts = Enumerable.Range(0, 64).Select(i => SampleTexts.All[i % SampleTexts.All.Length] + " " + i).ToArray();
            var expected = texts.Select(t => tokenizer.Encode(t, true)).ToArray();
            var actual = new int[texts.Length][];
            Parallel.For(0, texts.Length * 4, i => actual[i % texts.Length] = tokenizer.Encode(texts[i % texts.Length], true));
            Assert.Equal(expected, actual);
        }
    }
}
