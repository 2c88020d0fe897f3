using Folio.Text.Tokenization;

using Folio.Testing;

namespace Folio.Text.Tests.Tokenization;

public sealed class PreTokenizerTests
{
    private static string[] Split(string pre, string text)
    {
        var splitter = new RegexSplitter(PreTokenizerPatterns.ForName(pre));
        var words = new List<(int Start, int Length)>();
        splitter.Split(text, words, []);
        return words.Select(w => text.Substring(w.Start, w.Length)).ToArray();
    }

    // Expected splits worked out by hand from each pattern.
    [Theory]
    [InlineData("gpt-2", "don't stop", new[] { "don", "'t", " stop" })]
    [InlineData("default", "don't stop", new[] { "don", "'", "t", " stop" })]
    [InlineData("gpt-2", "12345", new[] { "12345" })]
    [InlineData("default", "12345", new[] { "123", "45" })]
    [InlineData("llama-bpe", "Hello   world123456", new[] { "Hello", "  ", " world", "123", "456" })]
    [InlineData("qwen2", "ab12", new[] { "ab", "1", "2" })]
    [InlineData("gpt-2", "a  b\n", new[] { "a", " ", " b", "\n" })]
    [InlineData("llama-bpe", "I'M here", new[] { "I", "'M", " here" })]
    public void Split_follows_the_patterns_of_the_pre_tokenizer_name(string pre, string text, string[] expected)
    {
        Assert.Equal(expected, Split(pre, text));
    }

    [Fact]
    public void Split_never_loses_or_reorders_text()
    {
        foreach (var pre in new[] { "gpt-2", "default", "llama-bpe", "qwen2", "smollm" })
        {
            foreach (var text in SampleTexts.All)
            {
                Assert.Equal(text, string.Concat(Split(pre, text)));
            }
        }
    }
}
