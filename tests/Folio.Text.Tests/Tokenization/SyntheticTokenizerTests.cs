using System.Text.RegularExpressions;
using Folio.Text.Tokenization;
using Microsoft.ML.Tokenizers;

using Folio.Testing;

using Folio.ModelTools;

namespace Folio.Text.Tests.Tokenization;

public sealed class SyntheticTokenizerTests
{
    [Theory]
    [InlineData(260)]
    [InlineData(1000)]
    [InlineData(4096)]
    [InlineData(32000)]
    public void Byte_level_bpe_has_exactly_the_size_and_consistent_merges(int size)
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(size);
        Assert.Equal(size, spec.Tokens.Count);
        Assert.Equal(size, spec.TokenTypes.Count);
        Assert.Equal(size, spec.Tokens.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("<|endoftext|>", spec.Tokens[size - 1]);
        Assert.Equal(GgufTokenType.Control, spec.TokenTypes[size - 1]);
        Assert.Equal(size - 1, spec.BosTokenId);
        Assert.Equal([size - 1], spec.EosTokenIds);
        Assert.False(spec.AddBosToken);

        // What llama.cpp and Hugging Face need of a gpt2 vocabulary: every byte, and every merge's
        // parts and result are tokens.
        var tokens = spec.Tokens.ToHashSet(StringComparer.Ordinal);
        for (var b = 0; b < 256; b++)
        {
            Assert.Contains(ByteLevelAlphabet.ByteToChar((byte)b).ToString(), tokens);
        }

        foreach (var merge in spec.Merges)
        {
            var parts = merge.Split(' ');
            Assert.Equal(2, parts.Length);
            Assert.Contains(parts[0], tokens);
            Assert.Contains(parts[1], tokens);
            Assert.Contains(parts[0] + parts[1], tokens);
        }
    }

    [Fact]
    public void Byte_level_bpe_is_deterministic()
    {
        var a = SyntheticTokenizers.ByteLevelBpe(2000);
        var b = SyntheticTokenizers.ByteLevelBpe(2000);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(a.Merges, b.Merges);
    }

    [Fact]
    public void Byte_level_bpe_learns_common_english_words()
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(2000);
        Assert.Contains("Ġthe", spec.Tokens);
        var tokenizer = TokenizerFactory.FromSpec(spec);
        Assert.True(tokenizer.Encode("the light and the harbour", false).Length < 10);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(3000)]
    [InlineData(32000)]
    public void Sentence_piece_bpe_has_exactly_the_size_and_llama_layout(int size)
    {
        var spec = SyntheticTokenizers.SentencePieceBpe(size);
        Assert.Equal(size, spec.Tokens.Count);
        Assert.Equal(size, spec.Scores!.Count);
        Assert.Equal(size, spec.Tokens.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(["<unk>", "<s>", "</s>"], spec.Tokens.Take(3));
        Assert.Equal([GgufTokenType.Unknown, GgufTokenType.Control, GgufTokenType.Control], spec.TokenTypes.Take(3));
        for (var b = 0; b < 256; b++)
        {
            Assert.Equal($"<0x{b:X2}>", spec.Tokens[3 + b]);
            Assert.Equal(GgufTokenType.Byte, spec.TokenTypes[3 + b]);
        }

        Assert.Equal(1, spec.BosTokenId);
        Assert.Equal([2], spec.EosTokenIds);
        Assert.True(spec.AddBosToken);
    }

    [Fact]
    public void Byte_level_from_spec_matches_microsoft_ml_bpe_on_the_same_vocabulary_and_merges()
    {
        var spec = SyntheticTokenizers.ByteLevelBpe(3000);
        var ours = TokenizerFactory.FromSpec(spec);
        var vocab = Enumerable.Range(0, spec.Tokens.Count - 1).Select(id => new KeyValuePair<string, int>(spec.Tokens[id], id));
        var reference = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = spec.Merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new Regex(PreTokenizerPatterns.Gpt2), null),
        });

        foreach (var text in SampleTexts.All.Append(Gpt2TokenizerTests.LongMixedText()))
        {
            Assert.Equal(reference.EncodeToIds(text), ours.Encode(text, addSpecialTokens: false));
        }
    }
}
