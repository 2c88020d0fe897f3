using System.Text;
using Folio.Models.Loading;
using Folio.Testing;
using Folio.Text.Tokenization;
using LLama.Common;
using LLama;
using Microsoft.ML.Tokenizers;

using Folio.ModelTools;

namespace Folio.Text.Tests.Tokenization;

/// <summary>
/// Random text drawn from many Unicode categories (letters of several scripts, marks, digits,
/// punctuation, symbols, every kind of whitespace, emoji), checked against independent
/// tokenizers: Microsoft.ML's GPT-2 and llama.cpp's.
/// </summary>
public sealed class RandomTextAgreementTests
{
    private static readonly string[] Pieces =
    [
        "a", "Z", "é", "ß", "Ω", "ж", "ا", "ע", "क", "ก", "日", "本", "한", "ー", "\u0301", "\u0308",
        "0", "7", "٣", "²", "½", "Ⅻ", ".", ",", "'", "'s", "'LL", "!", "?", "\"", "(", ")", "-", "_", "—", "…", "«", "»",
        "$", "+", "<", "=", ">", "^", "~", "|", "`", "€", "©", "∑", "→",
        " ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u2009", "\u3000", "\u200B",
        "😀", "👍🏽", "🇺🇸", "𝔘", "𠀀", "the", " the", "harbour", "don't", "12345",
    ];

    private static IEnumerable<string> RandomTexts(int seed, int count)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var builder = new StringBuilder();
            var length = random.Next(1, 40);
            for (var j = 0; j < length; j++)
            {
                builder.Append(Pieces[random.Next(Pieces.Length)]);
            }

            yield return builder.ToString();
        }
    }

    [Fact]
    public void Gpt2_matches_microsoft_ml_tiktoken_on_random_unicode_text()
    {
        var ours = TokenizerFactory.Gpt2();
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        foreach (var text in RandomTexts(seed: 1, count: 2000))
        {
            if (text.Contains('\uD835') || text.Contains('\uD840'))
            {
                continue; // letters outside the BMP: Microsoft.ML's .NET regex misses them as \p{L} (see the llama.cpp test)
            }

            Assert.True(reference.EncodeToIds(text).SequenceEqual(ours.Encode(text, false)), $"differs on {Escape(text)}");
            Assert.Equal(text, ours.Decode(ours.Encode(text, false)));
        }
    }

    [Theory]
    [InlineData(TestTokenizerKind.ByteLevelBpe, "gpt-2")]
    [InlineData(TestTokenizerKind.ByteLevelBpe, "llama-bpe")]
    [InlineData(TestTokenizerKind.ByteLevelBpe, "qwen2")]
    [InlineData(TestTokenizerKind.ByteLevelBpe, "default")]
    [InlineData(TestTokenizerKind.SentencePiece, null)]
    public void Encode_matches_llama_cpp_on_random_unicode_text(TestTokenizerKind kind, string? pre)
    {
        var options = new TestModelOptions { Dim = 32, Layers = 1, Heads = 2, KvHeads = 1, Ffn = 32, Vocab = 2000, Tokenizer = kind, Seed = 3 };
        var spec = TestModelWriter.Tokenizer(options);
        if (kind == TestTokenizerKind.ByteLevelBpe)
        {
            spec = spec with { Pre = pre };
        }

        using var folder = new TempDir();
        var path = folder.File("r.gguf");
        GgufModelWriter.Write(path, TestModelWriter.Config(options), spec, TestModelWriter.Weights(options), Folio.Models.DType.F32);
        using var model = LLamaWeights.LoadFromFile(new ModelParams(path) { GpuLayerCount = 0, VocabOnly = true });
        var ours = TokenizerFactory.FromSpec(spec);
        foreach (var text in RandomTexts(seed: 2, count: 1000))
        {
            var expected = model.Tokenize(text, true, true, Encoding.UTF8).Select(t => (int)t);
            Assert.True(expected.SequenceEqual(ours.Encode(text, true)), $"differs on {Escape(text)}: llama.cpp [{string.Join(",", expected)}] Folio [{string.Join(",", ours.Encode(text, true))}]");
        }
    }

    private static string Escape(string text) =>
        string.Concat(text.Select(c => c is >= ' ' and < (char)0x7F ? c.ToString() : $"\\u{(int)c:X4}"));
}
