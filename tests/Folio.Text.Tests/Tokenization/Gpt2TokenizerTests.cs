using System.Text;
using Folio.Text.Tokenization;
using Microsoft.ML.Tokenizers;

using Folio.Testing;

namespace Folio.Text.Tests.Tokenization;

public sealed class Gpt2TokenizerTests
{
    private static readonly ITokenizer Gpt2 = TokenizerFactory.Gpt2();

    [Fact]
    public void Gpt2_has_the_real_vocabulary_and_end_of_text()
    {
        Assert.Equal(50257, Gpt2.VocabSize);
        Assert.Equal(50256, Gpt2.BosTokenId);
        Assert.Equal([50256], Gpt2.EosTokenIds);
        Assert.False(Gpt2.AddBosToken);
        Assert.True(Gpt2.IsSpecial(50256));
        Assert.Equal("<|endoftext|>", Gpt2.TokenText(50256));
        Assert.True(Gpt2.TokenBytes(50256).IsEmpty);
    }

    // Ids published with GPT-2 (encoder.json): "Hello" 15496, " world" 995, "," 11, "!" 0,
    // "The" 464, " the" 262, "." 13, "\n" 198, " is" 318, " a" 257.
    [Theory]
    [InlineData("Hello world", new[] { 15496, 995 })]
    [InlineData("Hello, world!", new[] { 15496, 11, 995, 0 })]
    [InlineData("The world is a world.", new[] { 464, 995, 318, 257, 995, 13 })]
    [InlineData("\n", new[] { 198 })]
    [InlineData("Hello<|endoftext|> the", new[] { 15496, 50256, 262 })]
    public void Encode_gives_the_published_gpt2_ids(string text, int[] expected)
    {
        Assert.Equal(expected, Gpt2.Encode(text, addSpecialTokens: true));
    }

    [Fact]
    public void Encode_matches_microsoft_ml_tiktoken_gpt2_on_varied_text()
    {
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        foreach (var text in SampleTexts.All.Append(LongMixedText()))
        {
            var expected = reference.EncodeToIds(text);
            Assert.Equal(expected, Gpt2.Encode(text, addSpecialTokens: false));
        }
    }

    [Fact]
    public void Decode_of_encode_gives_the_text_back()
    {
        foreach (var text in SampleTexts.All)
        {
            var ids = Gpt2.Encode(text, addSpecialTokens: false);
            Assert.Equal(text, Gpt2.Decode(ids));
        }
    }

    [Fact]
    public void Token_bytes_concatenate_to_the_utf8_of_the_decoded_text()
    {
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        foreach (var text in SampleTexts.All)
        {
            var ids = Gpt2.Encode(text, addSpecialTokens: false);
            var bytes = new List<byte>();
            foreach (var id in ids)
            {
                bytes.AddRange(Gpt2.TokenBytes(id).ToArray());
            }

            Assert.Equal(Encoding.UTF8.GetBytes(reference.Decode(ids)), bytes.ToArray());
        }
    }

    [Fact]
    public void Gpt2_spec_with_derived_merges_encodes_like_the_rank_based_tokenizer()
    {
        var spec = TokenizerFactory.Gpt2Spec();
        Assert.Equal(50000, spec.Merges.Count);
        var fromSpec = TokenizerFactory.FromSpec(spec);
        foreach (var text in SampleTexts.All.Append(LongMixedText()))
        {
            Assert.Equal(Gpt2.Encode(text, false), fromSpec.Encode(text, false));
        }
    }

    internal static string LongMixedText()
    {
        var builder = new StringBuilder();
        for (var i = 0; i < 40; i++)
        {
            builder.Append(SampleTexts.All[i % SampleTexts.All.Length]).Append(' ').Append(i * 7919).Append('\n');
        }

        return builder.ToString();
    }
}
