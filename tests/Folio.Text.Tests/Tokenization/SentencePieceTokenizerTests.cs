using System.Text;
using Folio.Testing;
using Folio.Text.Tokenization;
using Microsoft.ML.Tokenizers;

using Folio.ModelTools;

namespace Folio.Text.Tests.Tokenization;

public sealed class SentencePieceTokenizerTests
{
    private const string Mark = "\u2581";

    /// <summary>
    /// &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, the bytes at 3..258, then ▁ a b (259-261), ab (262, score -2),
    /// bb (263, score -1), ▁a (264, score -3).
    /// </summary>
    private static TokenizerSpec TinySpec(bool withScores)
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { GgufTokenType.Unknown, GgufTokenType.Control, GgufTokenType.Control };
        for (var b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(GgufTokenType.Byte);
        }

        tokens.AddRange([Mark, "a", "b", "ab", "bb", Mark + "a"]);
        types.AddRange(Enumerable.Repeat(GgufTokenType.Normal, 6));
        var scores = new float[tokens.Count];
        (scores[259], scores[260], scores[261]) = (-10, -11, -12);
        (scores[262], scores[263], scores[264]) = (-2, -1, -3);
        return new TokenizerSpec("llama", tokens, withScores ? scores : null, types,
            withScores ? [] : ["a b", "b b", Mark + " a"], 1, [2], true, null);
    }

    [Fact]
    public void Score_based_merging_takes_the_highest_scoring_pair_first()
    {
        // "▁abb": candidates ab (-2) and bb (-1): bb wins; then ▁a (-3) joins ▁ and a.
        var tokenizer = TokenizerFactory.FromSpec(TinySpec(withScores: true));
        Assert.Equal([264, 263], tokenizer.Encode("abb", addSpecialTokens: false));
        Assert.Equal([1, 264, 263], tokenizer.Encode("abb", addSpecialTokens: true));
    }

    [Fact]
    public void Merge_list_based_merging_takes_the_earliest_merge_first()
    {
        // "▁abb" with merges [a b, b b, ▁ a]: ab first; then no merge joins ▁+ab or ab+b.
        var tokenizer = TokenizerFactory.FromSpec(TinySpec(withScores: false));
        Assert.Equal([259, 262, 261], tokenizer.Encode("abb", addSpecialTokens: false));
    }

    [Fact]
    public void Pieces_spanning_a_space_are_found_when_the_vocabulary_has_them()
    {
        // Adds a▁ (265, score -0.5) and a▁b (266, score -0.2). "▁a▁b": a▁ beats ▁a, then a▁+b -> a▁b.
        var spec = TinySpec(withScores: true);
        spec = spec with
        {
            Tokens = [.. spec.Tokens, "a" + Mark, "a" + Mark + "b"],
            TokenTypes = [.. spec.TokenTypes, GgufTokenType.Normal, GgufTokenType.Normal],
            Scores = [.. spec.Scores!, -0.5f, -0.2f],
        };
        var tokenizer = TokenizerFactory.FromSpec(spec);
        Assert.Equal([259, 266], tokenizer.Encode("a b", addSpecialTokens: false));
    }

    [Fact]
    public void Characters_not_in_the_vocabulary_fall_back_to_their_utf8_bytes()
    {
        var tokenizer = TokenizerFactory.FromSpec(TinySpec(withScores: true));
        // "a日" -> ▁a, then 日 = E6 97 A5 as byte tokens (3 + byte).
        Assert.Equal([264, 3 + 0xE6, 3 + 0x97, 3 + 0xA5], tokenizer.Encode("a日", false));
        // A space becomes ▁ (259), and an emoji outside the BMP falls back to its four bytes.
        Assert.Equal([264, 259, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80], tokenizer.Encode("a 😀", false));
    }

    [Fact]
    public void Byte_fallback_round_trips_text_with_characters_outside_the_vocabulary()
    {
        var tokenizer = TokenizerFactory.FromSpec(SyntheticTokenizers.SentencePieceBpe(2000));
        foreach (var text in SampleTexts.All.Where(t => t.Length > 0))
        {
            var ids = tokenizer.Encode(text, addSpecialTokens: true);
            Assert.Equal(1, ids[0]);
            // The prepended ▁ decodes as a leading space (Hugging Face's decoder strips it).
            Assert.Equal(" " + text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Special_token_text_is_matched_whole_and_adds_no_bytes()
    {
        var tokenizer = TokenizerFactory.FromSpec(SyntheticTokenizers.SentencePieceBpe(2000));
        var ids = tokenizer.Encode("the keeper</s>light", addSpecialTokens: false);
        Assert.Contains(2, ids);
        Assert.True(tokenizer.IsSpecial(2));
        Assert.True(tokenizer.TokenBytes(2).IsEmpty);
        Assert.Equal("</s>", tokenizer.TokenText(2));
        // As in llama.cpp, the text after a special token gets its own ▁ prefix.
        Assert.Equal(" the keeper light", tokenizer.Decode(ids));
    }

    [Fact]
    public void Encode_matches_microsoft_ml_sentence_piece_on_the_same_model()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(3000);
        var ours = TokenizerFactory.FromSpec(spec);
        using var stream = new MemoryStream(ProtoBuilder.SentencePieceModel(spec));
        var reference = SentencePieceTokenizer.Create(stream, false, false);
        foreach (var text in SampleTexts.All.Where(t => t.Trim().Length > 0).Append("the harbour keeper's notebook, 1234 pages"))
        {
            Assert.Equal(reference.EncodeToIds(text), ours.Encode(text, addSpecialTokens: false));
        }
    }

    [Fact]
    public void Tokenizer_model_hand_encoded_protobuf_is_read_completely()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(600);
        var model = SentencePieceModelReader.Parse(ProtoBuilder.SentencePieceModel(spec));
        Assert.Equal(spec.Tokens, model.Pieces);
        Assert.Equal(spec.Scores, model.Scores);
        Assert.Equal(spec.TokenTypes, model.Types);
        Assert.Equal(SentencePieceModelReader.ModelTypeBpe, model.ModelType);
        Assert.True(model.ByteFallback);
        Assert.Equal((0, 1, 2, -1), (model.UnknownId, model.BosId, model.EosId, model.PadId));
        Assert.True(model.AddDummyPrefix);
    }

    [Fact]
    public void Folder_with_only_tokenizer_model_encodes_like_the_spec_and_adds_bos()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(1500);
        using var folder = new TempDir();
        File.WriteAllBytes(folder.File("tokenizer.model"), ProtoBuilder.SentencePieceModel(spec));
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        var expected = TokenizerFactory.FromSpec(spec);
        Assert.True(loaded.AddBosToken);
        Assert.Equal(1, loaded.BosTokenId);
        Assert.Equal([2], loaded.EosTokenIds);
        foreach (var text in SampleTexts.All)
        {
            Assert.Equal(expected.Encode(text, true), loaded.Encode(text, true));
        }
    }

    [Fact]
    public void Tokenizer_model_without_dummy_prefix_does_not_prepend_the_space_mark()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(1500);
        using var folder = new TempDir();
        File.WriteAllBytes(folder.File("tokenizer.model"), ProtoBuilder.SentencePieceModel(spec, addDummyPrefix: false));
        var loaded = TokenizerFactory.FromHuggingFaceFolder(folder.Path);
        Assert.Equal("light", loaded.Decode(loaded.Encode("light", false)));
    }

    [Fact]
    public void Tokenizer_model_unigram_is_refused_naming_the_file()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(600);
        using var folder = new TempDir();
        File.WriteAllBytes(folder.File("tokenizer.model"), ProtoBuilder.SentencePieceModel(spec, modelType: 1));
        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFactory.FromHuggingFaceFolder(folder.Path));
        Assert.Contains("tokenizer.model", error.Message);
        Assert.Contains("unigram", error.Message);
    }

    [Fact]
    public void Tokenizer_model_truncated_is_refused_naming_the_file()
    {
        var bytes = ProtoBuilder.SentencePieceModel(SyntheticTokenizers.SentencePieceBpe(600));
        using var folder = new TempDir();
        File.WriteAllBytes(folder.File("tokenizer.model"), bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFactory.FromHuggingFaceFolder(folder.Path));
        Assert.Contains("tokenizer.model", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Token_bytes_concatenate_to_the_utf8_of_the_decoded_text()
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(3000);
        var ours = TokenizerFactory.FromSpec(spec);
        using var stream = new MemoryStream(ProtoBuilder.SentencePieceModel(spec));
        var reference = SentencePieceTokenizer.Create(stream, false, false);
        foreach (var text in SampleTexts.All.Where(t => t.Trim().Length > 0))
        {
            var ids = ours.Encode(text, false);
            var bytes = ids.SelectMany(id => ours.TokenBytes(id).ToArray()).ToArray();
            // The reference decoder drops the dummy-prefix space; the raw token bytes keep it.
            Assert.Equal(Encoding.UTF8.GetBytes(" " + reference.Decode(ids)), bytes);
        }
    }
}
